using System.Net;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;
using Felix.Dataplane.Tests.Fakes;
using Microsoft.Extensions.Logging;
using static Felix.Dataplane.Tests.Routes.RouteTableHarness;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>
/// The read-back's side of the route dump: a route found as recorded is held, not decoded; anything
/// else (new, changed, a second route to a destination) is listed; a dump the kernel starts over
/// counts once; and the order the routes come in does not matter.
/// </summary>
public sealed partial class RouteTableTests
{
    [Fact]
    public async Task A_refresh_that_finds_every_route_as_recorded_holds_them_all_and_lists_none()
    {
        var (table, dump) = DumpingTable();
        var cali1 = _harness.Netlink.AddLink("cali1");
        _harness.Netlink.AddLink("eth0");
        _harness.Netlink.AddConnectedNetwork("eth0", IPNetwork.Parse("192.168.1.0/24"));
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2", "10.65.0.3"));
        table.SetRemoteRoutes("host2/k8s/pod/eth0", Nets("10.70.0.5", "10.70.0.6"), IPAddress.Parse("192.168.1.2"));
        await ApplyAsync(table);

        table.RequestReadBack();
        await ApplyAsync(table);

        Assert.Equal((5, 0), (dump.Held, dump.Listed));
        Assert.False(table.HasPendingWork);
        Assert.Equal($"10.65.0.1/32 dev {cali1} scope link proto 80", _harness.RouteTo("10.65.0.1/32"));
    }

    [Fact]
    public async Task A_route_changed_by_someone_else_is_the_one_listed_and_it_is_repaired()
    {
        var (table, dump) = DumpingTable();
        var cali1 = _harness.Netlink.AddLink("cali1");
        var cali2 = _harness.Netlink.AddLink("cali2");
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2", "10.65.0.3"));
        table.SetRoutes("cali2", Nets("10.65.0.9"));
        await ApplyAsync(table);
        _harness.Netlink.AddRouteByHand(new RouteSpec(IPNetwork.Parse("10.65.0.2/32"), cali2, null, false, RouteScope.Link, 80));

        table.RequestReadBack();
        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Equal((3, 1), (dump.Held, dump.Listed));
        Assert.Equal([$"replace 10.65.0.2/32 dev {cali1} scope link proto 80"], steps);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_dump_started_over_or_in_another_order_finds_every_route_once(bool reversed)
    {
        var (table, dump) = DumpingTable();
        _harness.Netlink.AddLink("cali1");
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2", "10.65.0.3", "10.65.0.4", "10.65.0.5"));
        await ApplyAsync(table);
        table.RequestReadBack();
        await ApplyAsync(table);
        (dump.RestartAfter, dump.Reversed) = (3, reversed);

        table.RequestReadBack();
        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Empty(steps);
        Assert.Equal((5, 0), (dump.Held, dump.Listed));
        Assert.DoesNotContain(_harness.Log.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task IPv6_routes_are_held_too()
    {
        var (table, dump) = DumpingTable(IpVersion.V6);
        _harness.Netlink.AddLink("cali1");
        table.SetRoutes("cali1", Nets("fd65::1", "fd65::2"));
        await ApplyAsync(table);

        table.RequestReadBack();
        await ApplyAsync(table);

        Assert.Equal((2, 0), (dump.Held, dump.Listed));
    }

    [Fact]
    public async Task A_second_route_of_ours_to_a_destination_is_listed_and_the_unwanted_one_deleted()
    {
        var (table, dump) = DumpingTable();
        var cali1 = _harness.Netlink.AddLink("cali1");
        var cali2 = _harness.Netlink.AddLink("cali2");
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(table);
        var wanted = new RouteSpec(IPNetwork.Parse("10.65.0.1/32"), cali1, null, false, RouteScope.Link, 80);
        // The fake holds one route per destination; the kernel can hold two that differ in metric.
        dump.Extra = wanted with { InterfaceIndex = cali2 };

        table.RequestReadBack();
        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Equal((1, 1), (dump.Held, dump.Listed));
        // The fake never held the second route: its delete finds none, which is as good as done.
        Assert.Equal([$"delete 10.65.0.1/32 dev {cali2} scope link proto 80 -> ESRCH"], steps);
        Assert.Equal($"10.65.0.1/32 dev {cali1} scope link proto 80", _harness.RouteTo("10.65.0.1/32"));
    }

    private (RouteTable Table, DumpingNetlink Dump) DumpingTable(IpVersion version = IpVersion.V4)
    {
        var dump = new DumpingNetlink(_harness.Netlink);
        var table = new RouteTable(version, dump, _harness.Conntrack,
            new RouteTableMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())), _harness.Log, Options, _harness.Clock);
        return (table, dump);
    }

    /// <summary>
    /// The fake, with a route dump that asks the table of each route as a real one would: in an order
    /// of its choosing, started over part way if asked, with an extra route to a destination if given;
    /// it counts what the table held and what it listed.
    /// </summary>
    private sealed class DumpingNetlink(FakeRouteNetlink fake) : IRouteNetlink
    {
        public int Held { get; private set; }

        public int Listed { get; private set; }

        public int? RestartAfter { get; set; }

        public bool Reversed { get; set; }

        public RouteSpec? Extra { get; set; }

        public IReadOnlyList<LinkInfo> ListLinks() => fake.ListLinks();

        public IReadOnlyList<LinkInfo?> GetLinks(IReadOnlyList<LinkKey> keys) => fake.GetLinks(keys);

        public IReadOnlyList<int> GetRouteInterfaces(IReadOnlyList<IPAddress> addresses) => fake.GetRouteInterfaces(addresses);

        public IReadOnlyList<RouteSpec> ListRoutes(IpVersion family, byte protocol) => fake.ListRoutes(family, protocol);

        public void ListRoutes(IpVersion family, byte protocol, IKnownRoutes known, List<RouteSpec> others)
        {
            List<RouteSpec> routes = [.. fake.ListRoutes(family, protocol), .. Extra is null ? [] : new[] { Extra }];
            if (Reversed)
            {
                routes.Reverse();
            }
            if (RestartAfter is { } restart)
            {
                Ask(known, others, routes.Take(restart));
            }
            Ask(known, others, routes);
        }

        public IReadOnlyList<NetlinkError?> Execute(IReadOnlyList<NetlinkRequest> requests) => fake.Execute(requests);

        public IAsyncEnumerable<LinkEvent> WatchLinksAsync(CancellationToken cancellationToken) => fake.WatchLinksAsync(cancellationToken);

        public void Dispose()
        {
        }

        private void Ask(IKnownRoutes known, List<RouteSpec> others, IEnumerable<RouteSpec> routes)
        {
            known.DumpStarting();
            others.Clear();
            (Held, Listed) = (0, 0);
            var destination = new byte[16];
            var gateway = new byte[16];
            foreach (var route in routes)
            {
                if (known.Holds(DumpedRoute.Of(route, destination, gateway)))
                {
                    Held++;
                }
                else
                {
                    others.Add(route);
                    Listed++;
                }
            }
        }
    }
}
