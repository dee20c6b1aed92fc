using System.Net;
using Microsoft.Extensions.Logging;
using static Felix.Dataplane.Tests.Routes.RouteTableHarness;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>Which flows are flushed, when, and what happens when conntrack fails or is slow to get through.</summary>
public sealed partial class RouteTableTests
{
    private static readonly IPAddress Workload = IPAddress.Parse("10.65.0.1");
    private static readonly IPAddress Peer = IPAddress.Parse("10.0.0.9");

    [Fact]
    public async Task Flows_from_to_and_NATed_to_a_removed_address_are_flushed_and_no_other()
    {
        _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2"));
        await ApplyAsync(table);
        var conntrack = _harness.Conntrack;
        conntrack.AddFlow(Workload, Peer, tag: "opened by the workload");
        conntrack.AddFlow(Peer, Workload, tag: "to the workload");
        conntrack.AddFlow(Peer, IPAddress.Parse("10.96.0.10"), replySource: Workload, tag: "to a service, DNATed to the workload");
        conntrack.AddFlow(IPAddress.Parse("10.65.0.2"), Peer, tag: "another workload's");
        conntrack.AddFlow(IPAddress.Parse("fd00::1"), IPAddress.Parse("fd00::9"), tag: "IPv6");

        table.SetRoutes("cali1", Nets("10.65.0.2"));
        await ApplyAsync(table);

        Assert.Equal(["another workload's", "IPv6"], conntrack.Flows.Select(f => f.Tag));
        Assert.DoesNotContain(_harness.Log.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task Refused_deletes_are_logged_while_the_routes_go_ahead()
    {
        _harness.Netlink.AddLink("cali1");
        _harness.Netlink.AddLink("cali2");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(table);
        _harness.Conntrack.AddFlow(Peer, Workload);
        _harness.Conntrack.AddFlow(Workload, Peer);
        _harness.Conntrack.RefuseNext(1);

        table.RemoveInterface("cali1");
        table.SetRoutes("cali2", Nets("10.65.0.1"));
        await ApplyAsync(table);

        Assert.Single(_harness.Conntrack.Calls);
        Assert.Single(_harness.Conntrack.Flows);
        Assert.Contains(_harness.Log.Entries, e => e.Level == LogLevel.Error
            && e.Message.StartsWith("conntrack (IPv4): the kernel refused to delete 1 entries of 10.65.0.1", StringComparison.Ordinal)
            && e.Message.Contains("EBUSY", StringComparison.Ordinal));
        Assert.Equal("10.65.0.1/32 dev 3 scope link proto 80", _harness.RouteTo("10.65.0.1/32"));
        Assert.False(table.HasPendingWork);
    }

    [Fact]
    public async Task When_conntrack_cannot_be_listed_the_routes_still_change_and_the_failure_is_logged_once_per_apply()
    {
        _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2"));
        await ApplyAsync(table);
        _harness.Conntrack.Failure = "dump refused: EPERM";

        table.RemoveInterface("cali1");
        await ApplyAsync(table);

        Assert.Empty(_harness.OurRoutes());
        var failure = Assert.Single(_harness.Log.Entries, e => e.Level == LogLevel.Error);
        Assert.Equal("conntrack (IPv4): could not flush the entries of 10.65.0.1, 10.65.0.2; their old flows may go on until they time out: dump refused: EPERM",
            failure.Message);
        Assert.False(table.HasPendingWork);
    }

    [Fact]
    public async Task The_addresses_of_one_apply_share_one_flush_and_those_beyond_the_limit_wait_for_the_next()
    {
        _harness.Netlink.AddLink("cali1");
        var cali2 = _harness.Netlink.AddLink("cali2");
        var table = _harness.NewTable(options: Options with { MaxConntrackFlushesPerApply = 2 });
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2", "10.65.0.3"));
        await ApplyAsync(table);

        table.RemoveInterface("cali1");
        table.SetRoutes("cali2", Nets("10.65.0.3"));
        var first = await _harness.Recording(() => ApplyAsync(table));

        Assert.Equal(3, first.Count(s => s.StartsWith("delete", StringComparison.Ordinal)));
        Assert.Equal(["conntrack IPv4 10.65.0.1 10.65.0.2"], first.Where(s => s.StartsWith("conntrack", StringComparison.Ordinal)));
        Assert.DoesNotContain(first, s => s.StartsWith("add", StringComparison.Ordinal));
        Assert.True(table.HasPendingWork);

        var second = await _harness.Recording(() => ApplyAsync(table));
        Assert.Equal(["conntrack IPv4 10.65.0.3", $"add 10.65.0.3/32 dev {cali2} scope link proto 80"], second);
        Assert.False(table.HasPendingWork);
    }

    [Fact]
    public async Task An_adopted_address_whose_link_went_before_it_moved_still_has_its_flows_flushed()
    {
        _harness.Netlink.AddLink("cali1");
        _harness.Netlink.AddLink("cali2", up: false);
        var before = _harness.NewTable();
        before.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(before);
        _harness.Netlink.TakeEvents();
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(table);
        _harness.Conntrack.AddFlow(Peer, Workload, tag: "the old workload's");

        _harness.Netlink.DeleteLink("cali1");
        _harness.Pump(table);
        table.RemoveInterface("cali1");
        table.SetRoutes("cali2", Nets("10.65.0.1"));
        await ApplyAsync(table);

        Assert.Empty(_harness.Conntrack.Flows);
    }
}
