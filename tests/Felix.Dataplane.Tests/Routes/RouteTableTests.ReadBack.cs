using System.Net;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;
using Microsoft.Extensions.Logging;
using NSubstitute;
using static Felix.Dataplane.Tests.Routes.RouteTableHarness;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>Adoption at start, drift repaired at the refresh, other protocols left alone, and failures retried.</summary>
public sealed partial class RouteTableTests
{
    [Fact]
    public async Task A_table_restarted_over_the_same_state_issues_no_request_and_runs_no_conntrack()
    {
        _harness.Netlink.AddLink("cali1");
        _harness.Netlink.AddLink("cali2");
        var eth0 = _harness.Netlink.AddLink("eth0");
        _harness.Netlink.AddConnectedNetwork("eth0", IPNetwork.Parse("192.168.1.0/24"));
        var table = _harness.NewTable();
        Define(table);
        await ApplyAsync(table);
        Assert.Contains($"10.70.0.5/32 via 192.168.1.2 dev {eth0} proto 80", _harness.OurRoutes());
        var batches = _harness.Netlink.Batches.Count;

        var restarted = _harness.NewTable();
        Define(restarted);
        await ApplyAsync(restarted);

        Assert.Equal(batches, _harness.Netlink.Batches.Count);
        Assert.Empty(_harness.Conntrack.Calls);
        Assert.False(restarted.HasPendingWork);
        Assert.Contains(_harness.Log.Entries, e => e.Message == "routes (IPv4): found 4 routes of protocol 80 over 4 links; 0 destinations to route, move or remove");

        static void Define(RouteTable table)
        {
            table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2"));
            table.SetRoutes("cali2", Nets("10.65.0.3"));
            table.SetRemoteRoutes("host2/k8s/pod/eth0", Nets("10.70.0.5"), IPAddress.Parse("192.168.1.2"));
        }
    }

    [Fact]
    public async Task At_start_our_routes_nothing_wants_are_deleted_anywhere_and_routes_of_other_protocols_are_left_alone()
    {
        var cali1 = _harness.Netlink.AddLink("cali1");
        var cali9 = _harness.Netlink.AddLink("cali9");
        var eth0 = _harness.Netlink.AddLink("eth0");
        RouteSpec[] foreign =
        [
            new(IPNetwork.Parse("10.65.0.8/32"), cali1, null, false, RouteScope.Link, 3),
            new(IPNetwork.Parse("10.0.0.0/8"), eth0, null, false, RouteScope.Link, 4),
            new(IPNetwork.Parse("10.65.0.7/32"), cali9, null, false, RouteScope.Link, 81),
        ];
        foreach (var route in foreign)
        {
            _harness.Netlink.AddRouteByHand(route);
        }
        _harness.Netlink.AddRouteByHand(new RouteSpec(IPNetwork.Parse("10.65.0.9/32"), cali9, null, false, RouteScope.Link, 80));
        _harness.Netlink.AddRouteByHand(new RouteSpec(IPNetwork.Parse("172.16.0.0/16"), eth0, null, false, RouteScope.Link, 80));
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));

        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Equal(
            [$"add 10.65.0.1/32 dev {cali1} scope link proto 80", $"delete 10.65.0.9/32 dev {cali9} scope link proto 80",
                $"delete 172.16.0.0/16 dev {eth0} scope link proto 80",
                "conntrack IPv4 10.65.0.9"],
            steps);
        Assert.All(foreign, route => Assert.Equal(route, _harness.Netlink.Route(route.Destination)));
    }

    [Fact]
    public async Task A_foreign_route_to_a_claimed_destination_is_left_alone_logged_once_and_replaced_by_ours_once_it_goes()
    {
        var cali1 = _harness.Netlink.AddLink("cali1");
        var foreign = new RouteSpec(IPNetwork.Parse("10.65.0.1/32"), cali1, null, false, RouteScope.Link, 3);
        _harness.Netlink.AddRouteByHand(foreign);
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2"));

        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Equal([$"add 10.65.0.1/32 dev {cali1} scope link proto 80 -> EEXIST", $"add 10.65.0.2/32 dev {cali1} scope link proto 80"], steps);
        Assert.Equal(foreign, _harness.Netlink.Route(foreign.Destination));
        Assert.False(table.HasPendingWork);
        Assert.Null(table.FailingSince);
        _harness.Clock.Advance(Options.RefreshInterval);
        await ApplyAsync(table);
        Assert.Equal(foreign, _harness.Netlink.Route(foreign.Destination));
        Assert.Single(_harness.Log.Entries, e => e.Level == LogLevel.Warning
            && e.Message.StartsWith("Route to 10.65.0.1/32 (dev cali1) not added: a route the agent does not own holds the destination", StringComparison.Ordinal));

        _harness.Netlink.DeleteRouteByHand(foreign.Destination);
        _harness.Clock.Advance(Options.RefreshInterval);
        await ApplyAsync(table);
        Assert.Equal($"10.65.0.1/32 dev {cali1} scope link proto 80", _harness.RouteTo("10.65.0.1/32"));
        Assert.Equal(2, _harness.Metric("felix_netlink_errors{errno=\"EEXIST\"}"));
    }

    [Fact]
    public async Task Routes_changed_by_someone_else_are_repaired_at_the_next_refresh_and_not_before()
    {
        var cali1 = _harness.Netlink.AddLink("cali1");
        var cali2 = _harness.Netlink.AddLink("cali2");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2"));
        await ApplyAsync(table);
        _harness.Netlink.DeleteRouteByHand(IPNetwork.Parse("10.65.0.1/32"));
        _harness.Netlink.AddRouteByHand(new RouteSpec(IPNetwork.Parse("10.65.0.2/32"), cali2, null, false, RouteScope.Link, 80));
        _harness.Netlink.AddRouteByHand(new RouteSpec(IPNetwork.Parse("10.65.0.3/32"), cali2, null, false, RouteScope.Link, 80));

        _harness.Clock.Advance(Options.RefreshInterval - TimeSpan.FromSeconds(1));
        Assert.False(table.HasPendingWork);
        await ApplyAsync(table);
        Assert.Single(_harness.Netlink.Batches);

        _harness.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(table.ReadBackDue);
        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Equal(
            [$"add 10.65.0.1/32 dev {cali1} scope link proto 80", $"replace 10.65.0.2/32 dev {cali1} scope link proto 80",
                $"delete 10.65.0.3/32 dev {cali2} scope link proto 80",
                "conntrack IPv4 10.65.0.3"],
            steps);
        Assert.Contains(_harness.Log.Entries, e => e.Level == LogLevel.Warning
            && e.Message == "routes (IPv4): read-back found 3 destinations changed by someone else (10.65.0.1/32, 10.65.0.2/32, 10.65.0.3/32); repairing");
    }

    [Fact]
    public async Task A_zero_refresh_interval_reads_back_only_at_start()
    {
        _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable(options: Options with { RefreshInterval = TimeSpan.Zero });
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(table);

        _harness.Clock.Advance(TimeSpan.FromDays(1));

        Assert.False(table.HasPendingWork);
        await ApplyAsync(table);
        Assert.Equal(1, _harness.Netlink.ListRoutesCalls);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_socket_failure_is_followed_by_a_read_back_and_a_retry(bool halfApplied)
    {
        _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2", "10.65.0.3", "10.65.0.4"));
        await ApplyAsync(table);
        table.SetRoutes("cali1", Nets("10.65.0.5", "10.65.0.6"));
        _harness.Netlink.FailNextExecute(1, halfApplied);

        await ApplyAsync(table);

        Assert.Equal(2, _harness.Netlink.ListRoutesCalls);
        Assert.Equal(["10.65.0.5/32 dev 2 scope link proto 80", "10.65.0.6/32 dev 2 scope link proto 80"], _harness.OurRoutes());
        Assert.Equal(4, _harness.Conntrack.Calls.SelectMany(c => c.Addresses).Distinct().Count());
        Assert.Equal(1, _harness.Metric("felix_netlink_errors{errno=\"socket\"}"));
        Assert.Contains(_harness.Log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("attempt 1 of 3", StringComparison.Ordinal));
        Assert.Null(table.FailingSince);
    }

    [Fact]
    public async Task A_failed_dump_is_retried()
    {
        _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        _harness.Netlink.FailNextList(1);

        await ApplyAsync(table);

        Assert.NotNull(_harness.RouteTo("10.65.0.1/32"));
        Assert.Contains(_harness.Log.Entries, e => e.Message.StartsWith("routes (IPv4): reading back links and routes failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_request_refused_every_time_fails_the_apply_after_the_attempts_and_is_counted_by_errno()
    {
        _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2"));
        var refused = IPNetwork.Parse("10.65.0.1/32");
        _harness.Netlink.Refuse = r => r is AddRoute { Route.Destination: var d } && d == refused ? Fakes.FakeRouteNetlink.Error(1) : null;

        Assert.False(await table.ApplyAsync(CancellationToken.None));

        Assert.NotNull(table.FailingSince);
        Assert.True(table.HasPendingWork);
        Assert.NotNull(_harness.RouteTo("10.65.0.2/32"));
        Assert.Equal(3, _harness.Metric("felix_netlink_errors{errno=\"EPERM\"}"));
        Assert.Equal(3, _harness.Netlink.ListRoutesCalls);
        Assert.Contains(_harness.Log.Entries, e => e.Level == LogLevel.Error
            && e.Message == "routes (IPv4): the kernel refused requests 3 times; last: add 10.65.0.1/32 dev cali1 proto 80: EPERM (1)");

        _harness.Netlink.Refuse = null;
        await ApplyAsync(table);
        Assert.Null(table.FailingSince);
        Assert.NotNull(_harness.RouteTo("10.65.0.1/32"));
    }

    [Fact]
    public async Task The_read_back_and_each_synced_interface_are_timed()
    {
        _harness.Netlink.AddLink("cali1");
        _harness.Netlink.AddLink("cali2");
        var table = _harness.NewTable();
        var v6 = _harness.NewTable(IpVersion.V6);
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2"));
        table.SetRoutes("cali2", Nets("10.65.0.3"));

        await ApplyAsync(table);
        await ApplyAsync(v6);

        Assert.Equal(1, _harness.Metric("felix_route_table_list_seconds_count{ip_version=\"4\"}"));
        Assert.Equal(1, _harness.Metric("felix_route_table_list_seconds_count{ip_version=\"6\"}"));
        Assert.Equal(2, _harness.Metric("felix_route_table_per_iface_sync_seconds_count{ip_version=\"4\"}"));
        Assert.Equal(0, _harness.Metric("felix_route_table_per_iface_sync_seconds_count{ip_version=\"6\"}"));
    }

    [Fact]
    public async Task Two_routes_of_ours_to_one_destination_lose_the_unwanted_one_and_the_table_looks_again()
    {
        // The fake holds one route per destination; the kernel can hold two that differ in metric.
        var netlink = Substitute.For<IRouteNetlink>();
        var cali1 = new LinkInfo(2, "cali1", true, null);
        var cali2 = new LinkInfo(3, "cali2", true, null);
        var wanted = new RouteSpec(IPNetwork.Parse("10.65.0.1/32"), cali1.Index, null, false, RouteScope.Link, 80);
        var unwanted = wanted with { InterfaceIndex = cali2.Index };
        netlink.ListLinks().Returns([cali1, cali2]);
        // The table dumps into a list of its own; a substitute that holds nothing lists every route there.
        var dumps = new Queue<RouteSpec[]>([[unwanted, wanted], [wanted]]);
        netlink.When(n => n.ListRoutes(IpVersion.V4, 80, Arg.Any<IKnownRoutes>(), Arg.Any<List<RouteSpec>>()))
            .Do(call =>
            {
                var others = call.Arg<List<RouteSpec>>();
                others.Clear();
                others.AddRange(dumps.Dequeue());
            });
        netlink.Execute(Arg.Any<IReadOnlyList<NetlinkRequest>>()).Returns(call => [.. call.Arg<IReadOnlyList<NetlinkRequest>>().Select(_ => (NetlinkError?)null)]);
        var table = new RouteTable(IpVersion.V4, netlink, _harness.Conntrack, new RouteTableMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())),
            _harness.Log, Options, _harness.Clock);
        table.SetRoutes("cali1", Nets("10.65.0.1"));

        await ApplyAsync(table);
        Assert.True(table.HasPendingWork);
        await ApplyAsync(table);

        netlink.Received(1).Execute(Arg.Is<IReadOnlyList<NetlinkRequest>>(r => r.SequenceEqual(new NetlinkRequest[] { new DeleteRoute(unwanted) })));
        netlink.Received(2).ListRoutes(IpVersion.V4, 80, Arg.Any<IKnownRoutes>(), Arg.Any<List<RouteSpec>>());
        Assert.False(table.HasPendingWork);
        Assert.Empty(_harness.Conntrack.Calls);
    }
}
