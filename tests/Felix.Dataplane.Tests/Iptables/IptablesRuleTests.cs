using System.Net;
using Felix.Dataplane.Iptables;

namespace Felix.Dataplane.Tests.Iptables;

public class IptablesRuleTests
{
    private static readonly MatchCriteria TcpFromWorkloads = MatchCriteria.Any.Protocol("tcp").InInterface("cali+");

    [Fact]
    public void The_comment_comes_first_then_the_matches_then_the_action()
    {
        var rule = new IptablesRule(TcpFromWorkloads, new JumpAction("felix-from-x"), "Policy a/b");

        Assert.Equal(
            "-A felix-FORWARD -m comment --comment \"Policy a/b\" -p tcp -i cali+ -j felix-from-x",
            rule.RenderAppend("felix-FORWARD"));
    }

    [Fact]
    public void Without_a_comment_the_matches_follow_the_chain_after_one_space()
    {
        var rule = new IptablesRule(TcpFromWorkloads, IptablesAction.Drop);

        Assert.Equal("-A felix-x -p tcp -i cali+ -j DROP", rule.RenderAppend("felix-x"));
    }

    [Fact]
    public void With_a_comment_and_no_match_the_action_follows_the_comment_after_one_space()
    {
        var rule = new IptablesRule(IptablesAction.Return, "Drop if no policies passed packet");

        Assert.Equal(
            "-A felix-x -m comment --comment \"Drop if no policies passed packet\" -j RETURN",
            rule.RenderAppend("felix-x"));
    }

    [Fact]
    public void With_neither_comment_nor_match_only_the_action_follows_the_chain()
    {
        var rule = new IptablesRule(MatchCriteria.Any, IptablesAction.Accept);

        Assert.Equal("-A felix-x -j ACCEPT", rule.RenderAppend("felix-x"));
        Assert.Equal("-j ACCEPT", rule.RenderBody());
    }

    public static TheoryData<IptablesRule> Rules => new()
    {
        new IptablesRule(IptablesAction.Accept),
        new IptablesRule(IptablesAction.Accept, "c"),
        new IptablesRule(TcpFromWorkloads, IptablesAction.Drop),
        new IptablesRule(TcpFromWorkloads, new SetMarkAction(1, 1), "two words"),
        new IptablesRule(MatchCriteria.Any.SourceNet(IPNetwork.Parse("10.0.0.0/8"), negated: true), new LogAction("p")),
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void A_rendered_rule_never_has_doubled_leading_or_trailing_spaces(IptablesRule rule)
    {
        var line = rule.RenderAppend("felix-x");

        Assert.DoesNotContain("  ", line, StringComparison.Ordinal);
        Assert.Equal(line.Trim(), line);
        Assert.Equal($"-A felix-x {rule.RenderBody()}", line);
        Assert.Equal(rule.RenderBody(), rule.ToString());
    }

    [Theory]
    [MemberData(nameof(IptablesNamesTests.HostileText), MemberType = typeof(IptablesNamesTests))]
    public void A_comment_that_could_leave_its_quotes_is_refused(string comment)
    {
        Assert.Throws<ArgumentException>(() => new IptablesRule(IptablesAction.Accept, comment));
        Assert.Throws<ArgumentException>(() => new IptablesRule(TcpFromWorkloads, IptablesAction.Accept, comment));
    }

    [Fact]
    public void A_comment_is_limited_to_255_characters()
    {
        var longest = new string('c', 255);

        Assert.Equal(longest, new IptablesRule(IptablesAction.Accept, longest).Comment);
        Assert.Throws<ArgumentException>(() => new IptablesRule(IptablesAction.Accept, longest + "c"));
    }

    [Fact]
    public void A_null_comment_renders_no_comment_match()
    {
        var rule = new IptablesRule(IptablesAction.Accept, comment: null);

        Assert.Null(rule.Comment);
        Assert.DoesNotContain("comment", rule.RenderBody(), StringComparison.Ordinal);
    }

    /// <summary>
    /// The chain is the one free value in the line that no check has seen: <c>RenderAppend</c> is
    /// public and takes a plain string.
    /// </summary>
    [Theory]
    [InlineData("felix-x -j ACCEPT\n-A felix-y")]
    [InlineData("felix x")]
    [InlineData("felix-x\n")]
    [InlineData("")]
    [InlineData("-felix")]
    public void RenderAppend_refuses_a_chain_name_that_could_smuggle_syntax(string chain)
    {
        var rule = new IptablesRule(IptablesAction.Drop);
        Assert.Throws<ArgumentException>(() => rule.RenderAppend(chain));
    }

    [Fact]
    public void Rules_with_the_same_match_action_and_comment_are_equal()
    {
        var first = new IptablesRule(MatchCriteria.Any.Protocol("tcp"), new JumpAction("felix-a"), "c");
        var second = new IptablesRule(MatchCriteria.Any.Protocol("tcp"), new JumpAction("felix-a"), "c");

        Assert.Equal(first, second);
        Assert.Equal(first.GetHashCode(), second.GetHashCode());
        Assert.NotEqual(first, new IptablesRule(MatchCriteria.Any.Protocol("udp"), new JumpAction("felix-a"), "c"));
        Assert.NotEqual(first, new IptablesRule(MatchCriteria.Any.Protocol("tcp"), new GotoAction("felix-a"), "c"));
        Assert.NotEqual(first, new IptablesRule(MatchCriteria.Any.Protocol("tcp"), new JumpAction("felix-a"), "d"));
        Assert.NotEqual(first, new IptablesRule(MatchCriteria.Any.Protocol("tcp"), new JumpAction("felix-a")));
    }
}
