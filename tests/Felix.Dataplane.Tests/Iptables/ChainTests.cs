using Felix.Dataplane.Iptables;

namespace Felix.Dataplane.Tests.Iptables;

public class ChainTests
{
    private static readonly IptablesRule AcceptTcp = new(MatchCriteria.Any.Protocol("tcp"), IptablesAction.Accept);
    private static readonly IptablesRule DropAll = new(IptablesAction.Drop, "Drop the rest");

    [Fact]
    public void Chains_with_the_same_name_and_rules_are_equal()
    {
        var first = new Chain("felix-x", [AcceptTcp, DropAll]);
        var second = new Chain("felix-x", [
            new IptablesRule(MatchCriteria.Any.Protocol("tcp"), IptablesAction.Accept),
            new IptablesRule(IptablesAction.Drop, "Drop the rest"),
        ]);

        Assert.Equal(first, second);
        Assert.True(first.Equals((object)second));
        Assert.Equal(first.GetHashCode(), second.GetHashCode());
    }

    [Fact]
    public void The_same_rules_in_another_order_make_a_different_chain() =>
        Assert.NotEqual(new Chain("felix-x", [AcceptTcp, DropAll]), new Chain("felix-x", [DropAll, AcceptTcp]));

    [Fact]
    public void The_same_rules_under_another_name_make_a_different_chain() =>
        Assert.NotEqual(new Chain("felix-x", [AcceptTcp]), new Chain("felix-y", [AcceptTcp]));

    [Fact]
    public void A_chain_with_a_rule_more_or_less_is_different()
    {
        var chain = new Chain("felix-x", [AcceptTcp, DropAll]);

        Assert.NotEqual(chain, new Chain("felix-x", [AcceptTcp]));
        Assert.NotEqual(chain, new Chain("felix-x", [AcceptTcp, DropAll, DropAll]));
        Assert.NotEqual(chain, new Chain("felix-x", []));
        Assert.False(chain.Equals(null));
    }

    [Fact]
    public void Empty_chains_with_the_same_name_are_equal() =>
        Assert.Equal(new Chain("felix-x", []), new Chain("felix-x", []));

    [Fact]
    public void A_chain_keeps_its_rules_in_the_order_given()
    {
        var chain = new Chain("felix-x", [DropAll, AcceptTcp]);
        Assert.Equal(new[] { DropAll, AcceptTcp }, chain.Rules);
    }

    [Fact]
    public void A_chain_does_not_see_later_changes_to_the_list_it_was_built_from()
    {
        var rules = new List<IptablesRule> { AcceptTcp };
        var chain = new Chain("felix-x", rules);

        rules.Add(DropAll);

        Assert.Equal(new[] { AcceptTcp }, chain.Rules);
    }

    [Theory]
    [MemberData(nameof(IptablesNamesTests.HostileNames), MemberType = typeof(IptablesNamesTests))]
    [InlineData("abcdefghijklmnopqrstuvwxyz012")]
    public void A_chain_refuses_a_bad_name(string name) =>
        Assert.Throws<ArgumentException>(() => new Chain(name, [AcceptTcp]));

    [Fact]
    public void TargetChains_lists_jump_and_goto_targets_once_each_in_rule_order()
    {
        var chain = new Chain("felix-FORWARD", [
            new IptablesRule(MatchCriteria.Any.InInterface("cali+"), new GotoAction("felix-from-wl")),
            AcceptTcp,
            new IptablesRule(MatchCriteria.Any.OutInterface("cali+"), new JumpAction("felix-to-wl")),
            new IptablesRule(MatchCriteria.Any.OutInterface("cali1"), new GotoAction("felix-from-wl")),
            new IptablesRule(new SetMarkAction(1, 1)),
            new IptablesRule(new JumpAction("felix-a")),
            new IptablesRule(new JumpAction("felix-to-wl")),
        ]);

        Assert.Equal(["felix-from-wl", "felix-to-wl", "felix-a"], chain.TargetChains);
    }

    [Fact]
    public void A_chain_without_jumps_has_no_target_chains() =>
        Assert.Empty(new Chain("felix-x", [AcceptTcp, DropAll, new IptablesRule(new LogAction("x"))]).TargetChains);

    [Fact]
    public void IpSets_lists_the_sets_of_all_rules_once_each_in_rule_order()
    {
        var chain = new Chain("felix-x", [
            new IptablesRule(MatchCriteria.Any.IpSet("felix-v4-b", SetDirection.Source)
                .IpSet("felix-v4-a", SetDirection.Destination), IptablesAction.Accept),
            AcceptTcp,
            new IptablesRule(MatchCriteria.Any.IpSet("felix-v4-a", SetDirection.Source, negated: true)
                .IpSet("felix-v4-c", SetDirection.Source), IptablesAction.Drop),
        ]);

        Assert.Equal(["felix-v4-b", "felix-v4-a", "felix-v4-c"], chain.IpSets);
    }

    [Fact]
    public void A_chain_without_set_matches_has_no_ipsets() =>
        Assert.Empty(new Chain("felix-x", [AcceptTcp, DropAll]).IpSets);

    [Fact]
    public void A_hook_refuses_a_bad_builtin_chain_name()
    {
        Assert.Throws<ArgumentException>(() => new Hook("FORWARD -j ACCEPT", AcceptTcp));
        Assert.Throws<ArgumentException>(() => new Hook("-FORWARD", AcceptTcp));
        Assert.Throws<ArgumentException>(() => new Hook(string.Empty, AcceptTcp));
    }

    [Fact]
    public void Hooks_with_the_same_chain_and_rule_are_equal()
    {
        Assert.Equal(new Hook("FORWARD", AcceptTcp), new Hook("FORWARD", new(MatchCriteria.Any.Protocol("tcp"), IptablesAction.Accept)));
        Assert.NotEqual(new Hook("FORWARD", AcceptTcp), new Hook("INPUT", AcceptTcp));
        Assert.NotEqual(new Hook("FORWARD", AcceptTcp), new Hook("FORWARD", DropAll));
    }
}
