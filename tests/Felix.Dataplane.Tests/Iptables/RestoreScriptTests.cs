using System.Net;
using Felix.Dataplane.Iptables;

namespace Felix.Dataplane.Tests.Iptables;

public class RestoreScriptTests
{
    [Fact]
    public void A_table_renders_declarations_sorted_then_rules_in_order_then_hooks_on_top_then_commit()
    {
        var toWorkload = new Chain("felix-to-wl", [
            new IptablesRule(MatchCriteria.Any.Conntrack(ConntrackStates.Related | ConntrackStates.Established), IptablesAction.Accept),
            new IptablesRule(MatchCriteria.Any.IpSet("felix-v4-x", SetDirection.Source, negated: true), IptablesAction.Drop, "Not from x"),
        ]);
        var forward = new Chain("felix-FORWARD", [
            new IptablesRule(MatchCriteria.Any.OutInterface("cali+"), new GotoAction("felix-to-wl")),
            new IptablesRule(new SetMarkAction(0x1000000, 0x1000000)),
        ]);
        var hooks = new[]
        {
            new Hook("FORWARD", new IptablesRule(new JumpAction("felix-FORWARD"), "Felix first")),
            new Hook("INPUT", new IptablesRule(MatchCriteria.Any.InInterface("cali+"), new JumpAction("felix-FORWARD"))),
        };

        var script = RestoreScript.Render(TableName.Filter, [toWorkload, forward], hooks);

        Assert.Equal(
            "*filter\n" +
            ":felix-FORWARD - [0:0]\n" +
            ":felix-to-wl - [0:0]\n" +
            "-A felix-FORWARD -o cali+ -g felix-to-wl\n" +
            "-A felix-FORWARD -j MARK --set-xmark 0x1000000/0x1000000\n" +
            "-A felix-to-wl -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n" +
            "-A felix-to-wl -m comment --comment \"Not from x\" -m set ! --match-set felix-v4-x src -j DROP\n" +
            "-I INPUT 1 -i cali+ -j felix-FORWARD\n" +
            "-I FORWARD 1 -m comment --comment \"Felix first\" -j felix-FORWARD\n" +
            "COMMIT\n",
            script);
    }

    [Fact]
    public void Hooks_on_one_builtin_chain_are_inserted_last_first_so_they_end_up_in_the_given_order()
    {
        var hooks = new[]
        {
            new Hook("FORWARD", new IptablesRule(new JumpAction("felix-first"))),
            new Hook("FORWARD", new IptablesRule(new JumpAction("felix-second"))),
            new Hook("FORWARD", new IptablesRule(new JumpAction("felix-third"))),
        };

        var script = RestoreScript.Render(TableName.Filter, [], hooks);

        Assert.Equal(
            "*filter\n" +
            "-I FORWARD 1 -j felix-third\n" +
            "-I FORWARD 1 -j felix-second\n" +
            "-I FORWARD 1 -j felix-first\n" +
            "COMMIT\n",
            script);
    }

    [Fact]
    public void Chain_declarations_sort_by_ordinal_name_whatever_order_they_come_in()
    {
        Chain Empty(string name) => new(name, []);

        var script = RestoreScript.Render(
            TableName.Filter, [Empty("felix-b"), Empty("felix-a"), Empty("felix-B"), Empty("felix-1")], []);

        Assert.Equal(
            "*filter\n" +
            ":felix-1 - [0:0]\n" +
            ":felix-B - [0:0]\n" +
            ":felix-a - [0:0]\n" +
            ":felix-b - [0:0]\n" +
            "COMMIT\n",
            script);
    }

    [Fact]
    public void The_nat_table_is_named_nat()
    {
        var postrouting = new Chain("felix-POSTROUTING", [
            new IptablesRule(
                MatchCriteria.Any.IpSet("felix-masq-ipam-pools", SetDirection.Source)
                    .IpSet("felix-all-ipam-pools", SetDirection.Destination, negated: true),
                IptablesAction.Masquerade),
        ]);

        var script = RestoreScript.Render(
            TableName.Nat, [postrouting], [new Hook("POSTROUTING", new IptablesRule(new JumpAction("felix-POSTROUTING")))]);

        Assert.Equal(
            "*nat\n" +
            ":felix-POSTROUTING - [0:0]\n" +
            "-A felix-POSTROUTING -m set --match-set felix-masq-ipam-pools src -m set ! --match-set felix-all-ipam-pools dst -j MASQUERADE\n" +
            "-I POSTROUTING 1 -j felix-POSTROUTING\n" +
            "COMMIT\n",
            script);
    }

    [Fact]
    public void An_empty_table_is_just_its_header_and_commit() =>
        Assert.Equal("*filter\nCOMMIT\n", RestoreScript.Render(TableName.Filter, [], []));

    [Fact]
    public void An_empty_chain_is_declared_and_has_no_rules()
    {
        var script = RestoreScript.Render(TableName.Filter, [new Chain("felix-empty", [])], []);
        Assert.Equal("*filter\n:felix-empty - [0:0]\nCOMMIT\n", script);
    }

    [Fact]
    public void Every_line_is_one_command_and_ends_with_a_newline()
    {
        var chain = new Chain("felix-x", [
            new IptablesRule(
                MatchCriteria.Any.Protocol("udp").SourceNet(IPNetwork.Parse("fd00::/8")).DestPorts([new PortRange(53)]),
                new LogAction("felix drop: "),
                "a comment with spaces"),
        ]);

        var script = RestoreScript.Render(TableName.Filter, [chain], []);
        var lines = script.Split('\n');

        Assert.Equal(string.Empty, lines[^1]);
        Assert.Equal(["*filter", ":felix-x - [0:0]"], lines[..2]);
        Assert.StartsWith("-A felix-x ", lines[2], StringComparison.Ordinal);
        Assert.Equal("COMMIT", lines[3]);
        Assert.Equal(5, lines.Length);
    }

    [Fact]
    public void An_unknown_table_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RestoreScript.Render((TableName)99, [], []));
}
