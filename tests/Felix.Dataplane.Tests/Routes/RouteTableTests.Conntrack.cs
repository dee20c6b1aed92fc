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
    public async Task A_failed_conntrack_run_is_tried_again_and_logged_if_it_keeps_failing_while_the_routes_go_ahead()
    {
        _harness.Netlink.AddLink("cali1");
        _harness.Netlink.AddLink("cali2");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(table);
        _harness.Conntrack.AddFlow(Peer, Workload);
        _harness.Conntrack.FailNext(3);

        table.RemoveInterface("cali1");
        table.SetRoutes("cali2", Nets("10.65.0.1"));
        await ApplyAsync(table);

        Assert.Equal(3 + 3, _harness.Conntrack.Calls.Count);
        Assert.Empty(_harness.Conntrack.Flows);
        Assert.Contains(_harness.Log.Entries, e => e.Level == LogLevel.Error
            && e.Message.StartsWith("Could not flush the conntrack entries of 10.65.0.1 (--orig-src)", StringComparison.Ordinal));
        Assert.Equal("10.65.0.1/32 dev 3 scope link proto 80", _harness.RouteTo("10.65.0.1/32"));
        Assert.False(table.HasPendingWork);
    }

    [Fact]
    public async Task Without_the_conntrack_program_the_routes_still_change_and_each_address_is_logged_once()
    {
        _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2"));
        await ApplyAsync(table);
        _harness.Conntrack.Installed = false;

        table.RemoveInterface("cali1");
        await ApplyAsync(table);

        Assert.Empty(_harness.OurRoutes());
        Assert.Equal(2, _harness.Log.Entries.Count(e => e.Level == LogLevel.Error && e.Message.Contains("No such file", StringComparison.Ordinal)));
        Assert.False(table.HasPendingWork);
    }

    [Fact]
    public async Task Flushes_beyond_the_limit_wait_for_the_next_apply_and_an_address_reused_meanwhile_waits_for_its_own()
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
        Assert.Equal(["10.65.0.1", "10.65.0.2"], first.Where(s => s.StartsWith("conntrack", StringComparison.Ordinal)).Select(s => s.Split(' ')[^1]).Distinct());
        Assert.DoesNotContain(first, s => s.StartsWith("add", StringComparison.Ordinal));
        Assert.True(table.HasPendingWork);

        var second = await _harness.Recording(() => ApplyAsync(table));
        Assert.Equal(
            ["conntrack --family ipv4 --delete --orig-src 10.65.0.3", "conntrack --family ipv4 --delete --orig-dst 10.65.0.3",
                "conntrack --family ipv4 --delete --reply-src 10.65.0.3", "conntrack --family ipv4 --delete --reply-dst 10.65.0.3",
                $"add 10.65.0.3/32 dev {cali2} scope link proto 80"],
            second);
        Assert.False(table.HasPendingWork);
    }

    [Fact]
    public async Task A_cancelled_flush_is_not_lost()
    {
        _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(table);
        using var cancel = new CancellationTokenSource();
        _harness.Conntrack.OnRun = _ => cancel.Cancel();

        table.RemoveInterface("cali1");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => table.ApplyAsync(cancel.Token));
        _harness.Conntrack.OnRun = null;
        var before = _harness.Conntrack.Calls.Count;

        Assert.True(table.HasPendingWork);
        await ApplyAsync(table);
        Assert.Equal(before + 4, _harness.Conntrack.Calls.Count);
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
