using Felix.Dataplane.Iptables;

namespace Felix.Dataplane.Tests.Iptables;

public class IptablesActionTests
{
    public static TheoryData<IptablesAction, string> Rendered => new()
    {
        { IptablesAction.Accept, "-j ACCEPT" },
        { IptablesAction.Drop, "-j DROP" },
        { IptablesAction.Return, "-j RETURN" },
        { IptablesAction.Masquerade, "-j MASQUERADE" },
        { new JumpAction("felix-from-x"), "-j felix-from-x" },
        { new GotoAction("felix-to-x"), "-g felix-to-x" },
        { new SetMarkAction(0x1000000, 0x1000000), "-j MARK --set-xmark 0x1000000/0x1000000" },
        { new SetMarkAction(0, 0x3000000), "-j MARK --set-xmark 0x0/0x3000000" },
        { new SetMarkAction(0xdeadbeef, 0xffffffff), "-j MARK --set-xmark 0xdeadbeef/0xffffffff" },
        { new LogAction("p"), "-j LOG --log-prefix \"p\"" },
        { new LogAction("calico-drop: "), "-j LOG --log-prefix \"calico-drop: \"" },
    };

    [Theory]
    [MemberData(nameof(Rendered))]
    public void Each_action_renders_its_fixed_target(IptablesAction action, string expected) =>
        Assert.Equal(expected, action.Render());

    [Fact]
    public void Jump_and_goto_name_their_target_chain()
    {
        Assert.Equal("felix-from-x", new JumpAction("felix-from-x").TargetChain);
        Assert.Equal("felix-to-x", new GotoAction("felix-to-x").TargetChain);
    }

    public static TheoryData<IptablesAction> NonChainActions => new()
    {
        IptablesAction.Accept,
        IptablesAction.Drop,
        IptablesAction.Return,
        IptablesAction.Masquerade,
        new SetMarkAction(1, 1),
        new LogAction("felix-x"),
    };

    [Theory]
    [MemberData(nameof(NonChainActions))]
    public void Other_actions_have_no_target_chain(IptablesAction action) => Assert.Null(action.TargetChain);

    [Theory]
    [MemberData(nameof(IptablesNamesTests.HostileNames), MemberType = typeof(IptablesNamesTests))]
    [InlineData("abcdefghijklmnopqrstuvwxyz012")]
    public void Jump_and_goto_refuse_a_bad_chain_name(string chain)
    {
        Assert.Throws<ArgumentException>(() => new JumpAction(chain));
        Assert.Throws<ArgumentException>(() => new GotoAction(chain));
    }

    [Theory]
    [InlineData(0x1u, 0x0u)]
    [InlineData(0x3u, 0x1u)]
    [InlineData(0x1000000u, 0x2000000u)]
    [InlineData(0xffffffffu, 0x7fffffffu)]
    [InlineData(0x80000000u, 0x7fffffffu)]
    public void A_mark_with_bits_outside_its_mask_is_refused(uint mark, uint mask) =>
        Assert.Throws<ArgumentException>(() => new SetMarkAction(mark, mask));

    [Theory]
    [InlineData(0x0u, 0x0u)]
    [InlineData(0x1u, 0x1u)]
    [InlineData(0x1000000u, 0x3000000u)]
    [InlineData(0xffffffffu, 0xffffffffu)]
    public void A_mark_within_its_mask_is_accepted(uint mark, uint mask)
    {
        var action = new SetMarkAction(mark, mask);
        Assert.Equal(mark, action.Mark);
        Assert.Equal(mask, action.Mask);
    }

    [Theory]
    [MemberData(nameof(IptablesNamesTests.HostileText), MemberType = typeof(IptablesNamesTests))]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123")]
    public void A_log_prefix_that_is_not_short_quotable_text_is_refused(string prefix) =>
        Assert.Throws<ArgumentException>(() => new LogAction(prefix));

    [Fact]
    public void A_log_prefix_of_29_characters_is_accepted()
    {
        var prefix = new string('p', 29);
        Assert.Equal(LogAction.MaxPrefixLength, prefix.Length);
        Assert.Equal($"-j LOG --log-prefix \"{prefix}\"", new LogAction(prefix).Render());
    }

    [Fact]
    public void Actions_compare_by_value()
    {
        Assert.Equal(new JumpAction("felix-a"), new JumpAction("felix-a"));
        Assert.NotEqual<IptablesAction>(new JumpAction("felix-a"), new GotoAction("felix-a"));
        Assert.NotEqual(new JumpAction("felix-a"), new JumpAction("felix-b"));
        Assert.Equal(new SetMarkAction(1, 3), new SetMarkAction(1, 3));
        Assert.NotEqual(new SetMarkAction(1, 3), new SetMarkAction(1, 1));
        Assert.Equal(new LogAction("x"), new LogAction("x"));
        Assert.NotEqual<IptablesAction>(IptablesAction.Accept, IptablesAction.Drop);
    }
}
