using System.Net;
using Felix.Dataplane;
using Felix.Dataplane.Netlink;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Netlink;

/// <summary>
/// <see cref="RouteNetlink"/> against the real kernel, opened inside a test namespace: what it
/// programs is what <c>ip</c> shows there, what <c>ip</c> programs is what it reads back, the
/// kernel's refusals come back as errnos per request, and link events arrive.
/// </summary>
public sealed class RouteNetlinkTests
{
    private const byte Protocol = 80;

    public RouteNetlinkTests()
    {
        Require.Root();
    }

    [Fact]
    public async Task Links_are_listed_and_set_up()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("links");
        await host.IpCheckedAsync("link", "add", "cali0123456789a", "type", "veth", "peer", "name", "peer0");
        using var netlink = Open(host);

        var links = netlink.ListLinks();
        var cali = Assert.Single(links, l => l.Name == "cali0123456789a");
        Assert.False(cali.IsUp);
        Assert.Equal(6, cali.Address!.Length);
        Assert.Contains(links, l => l.Name == "lo");

        Assert.Equal([null], netlink.Execute([new SetLinkUp(cali.Index)]));
        Assert.True(Assert.Single(netlink.ListLinks(), l => l.Name == "cali0123456789a").IsUp);
        Assert.Contains("UP", (await host.IpCheckedAsync("link", "show", "cali0123456789a")).StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Links_are_looked_up_by_name_and_by_index_as_the_listing_shows_them_and_a_missing_one_is_null()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("lookup");
        await host.IpCheckedAsync("link", "add", "cali0123456789a", "type", "veth", "peer", "name", "peer0");
        await host.IpCheckedAsync("link", "set", "peer0", "up");
        using var netlink = Open(host);
        var listed = netlink.ListLinks();
        var cali = listed.Single(l => l.Name == "cali0123456789a");
        var peer = listed.Single(l => l.Name == "peer0");

        var found = netlink.GetLinks([LinkKey.ByName("cali0123456789a"), LinkKey.ByIndex(peer.Index), LinkKey.ByName("nosuch0"),
            LinkKey.ByIndex(999_999), LinkKey.ByName("lo")]);

        Assert.Equal(5, found.Count);
        AssertSame(cali, found[0]);
        AssertSame(peer, found[1]);
        Assert.Null(found[2]);
        Assert.Null(found[3]);
        AssertSame(listed.Single(l => l.Name == "lo"), found[4]);
        Assert.False(found[0]!.IsUp);
        Assert.True(found[1]!.IsUp);

        static void AssertSame(LinkInfo expected, LinkInfo? actual)
        {
            Assert.NotNull(actual);
            Assert.Equal((expected.Index, expected.Name, expected.IsUp), (actual.Index, actual.Name, actual.IsUp));
            Assert.Equal(expected.Address, actual.Address);
        }
    }

    [Fact]
    public async Task More_lookups_than_one_datagram_holds_each_get_their_own_answer_in_order()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("lookups");
        await host.IpCheckedAsync("link", "add", "caliE", "type", "veth", "peer", "name", "peerE");
        using var netlink = Open(host);
        var cali = netlink.ListLinks().Single(l => l.Name == "caliE");
        var keys = Enumerable.Range(0, 3 * RouteNetlink.LookupWindow + 5)
            .Select(i => (i % 3) switch { 0 => LinkKey.ByName("caliE"), 1 => LinkKey.ByIndex(cali.Index), _ => LinkKey.ByName($"none{i}") }).ToList();

        var found = netlink.GetLinks(keys);

        Assert.Equal(keys.Count, found.Count);
        for (var i = 0; i < keys.Count; i++)
        {
            Assert.Equal(i % 3 == 2 ? null : "caliE", found[i]?.Name);
        }
    }

    [Fact]
    public async Task A_route_lookup_names_the_link_an_address_is_reached_by_and_0_when_none_reaches_it()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("getroute");
        await host.IpCheckedAsync("link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer");
        await host.IpCheckedAsync("link", "set", "eth0-peer", "up");
        await host.IpCheckedAsync("link", "set", "eth0", "up");
        await host.IpCheckedAsync("address", "add", "192.168.1.1/24", "dev", "eth0");
        await host.IpCheckedAsync("-6", "address", "add", "fd01::1/64", "dev", "eth0", "nodad");
        using var netlink = Open(host);
        var eth0 = netlink.ListLinks().Single(l => l.Name == "eth0").Index;
        var addresses = new[] { "192.168.1.2", "10.99.0.1", "fd01::2", "fd99::1" }.Select(IPAddress.Parse).ToList();
        int[] expected = [eth0, 0, eth0, 0];

        // A veth's carrier comes up a moment after the link (later on a loaded machine), and the
        // connected routes are usable only then: ask until they are, for up to 10 s.
        var answers = netlink.GetRouteInterfaces(addresses);
        for (var attempt = 0; attempt < 100 && !answers.SequenceEqual(expected); attempt++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100));
            answers = netlink.GetRouteInterfaces(addresses);
        }

        Assert.Equal(expected, answers);
    }

    [Theory]
    [InlineData("10.65.0.7/32", "-4")]
    [InlineData("fd65::7/128", "-6")]
    public async Task Routes_are_added_read_back_replaced_and_deleted_only_with_our_protocol(string destination, string family)
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("routes");
        await host.IpCheckedAsync("link", "add", "caliA", "type", "veth", "peer", "name", "peerA");
        await host.IpCheckedAsync("link", "set", "caliA", "up");
        await host.IpCheckedAsync("link", "set", "peerA", "up");
        using var netlink = Open(host);
        var index = netlink.ListLinks().Single(l => l.Name == "caliA").Index;
        var version = family == "-6" ? IpVersion.V6 : IpVersion.V4;
        var scope = version == IpVersion.V6 ? RouteScope.Universe : RouteScope.Link;
        var route = new RouteSpec(IPNetwork.Parse(destination), index, null, false, scope, Protocol);

        Assert.Equal([null], netlink.Execute([new ReplaceRoute(route)]));
        Assert.Equal([route], netlink.ListRoutes(version, Protocol));
        var shown = (await host.IpCheckedAsync(family, "route", "show", "proto", "80")).StandardOutput;
        Assert.Contains($"{IPNetwork.Parse(destination).BaseAddress} dev caliA", shown, StringComparison.Ordinal);

        Assert.Equal([null], netlink.Execute([new ReplaceRoute(route)]));
        Assert.Single(netlink.ListRoutes(version, Protocol));

        await host.IpCheckedAsync(family, "route", "add", version == IpVersion.V6 ? "fd65::99/128" : "10.65.0.99/32", "dev", "caliA", "proto", "static");
        Assert.Equal([route], netlink.ListRoutes(version, Protocol));
        var foreign = new RouteSpec(IPNetwork.Parse(version == IpVersion.V6 ? "fd65::99/128" : "10.65.0.99/32"), index, null, false, scope, Protocol);
        Assert.Equal(NetlinkError.Exists, Assert.Single(netlink.Execute([new AddRoute(foreign)]))!.Errno);
        Assert.Equal([route], netlink.ListRoutes(version, Protocol));
        var refused = Assert.Single(netlink.Execute([new DeleteRoute(foreign)]));
        Assert.NotNull(refused);
        Assert.Contains(version == IpVersion.V6 ? "fd65::99" : "10.65.0.99", (await host.IpCheckedAsync(family, "route", "show")).StandardOutput, StringComparison.Ordinal);

        Assert.Equal([null], netlink.Execute([new DeleteRoute(route)]));
        Assert.Empty(netlink.ListRoutes(version, Protocol));
    }

    [Fact]
    public async Task A_dump_lists_only_the_routes_the_caller_does_not_hold_as_the_kernel_has_them()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("held");
        await host.IpCheckedAsync("link", "add", "caliF", "type", "veth", "peer", "name", "peerF");
        await host.IpCheckedAsync("link", "set", "peerF", "up");
        await host.IpCheckedAsync("link", "set", "caliF", "up");
        await host.IpCheckedAsync("address", "add", "192.168.1.1/24", "dev", "caliF");
        using var netlink = Open(host);
        var index = netlink.ListLinks().Single(l => l.Name == "caliF").Index;
        var routes = Enumerable.Range(1, 6).Select(i => i % 3 == 0
            ? new RouteSpec(IPNetwork.Parse($"10.70.0.{i}/32"), index, IPAddress.Parse("192.168.1.2"), false, RouteScope.Universe, Protocol)
            : new RouteSpec(IPNetwork.Parse($"10.65.0.{i}/32"), index, null, false, RouteScope.Link, Protocol)).ToList();
        Assert.All(netlink.Execute([.. routes.Select(r => new ReplaceRoute(r))]), r => Assert.Null(r));
        await host.IpCheckedAsync("route", "add", "10.99.0.1/32", "dev", "caliF", "proto", "static");
        // Held: the odd ones, as programmed; and one held with another link, which the kernel's is not.
        var known = new Known([routes[0], routes[2], routes[4] with { InterfaceIndex = 1 }]);
        var others = new List<RouteSpec> { routes[0] };

        netlink.ListRoutes(IpVersion.V4, Protocol, known, others);

        Assert.True(known.Starts >= 1);
        Assert.Equal(2, known.Held);
        Assert.Equal(routes.Where((_, i) => i is 1 or 3 or 4 or 5).OrderBy(r => r.Destination.ToString()), others.OrderBy(r => r.Destination.ToString()));
    }

    [Fact]
    public async Task Each_request_of_a_batch_gets_its_own_answer()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("batch");
        await host.IpCheckedAsync("link", "add", "caliB", "type", "veth", "peer", "name", "peerB");
        await host.IpCheckedAsync("link", "set", "caliB", "up");
        using var netlink = Open(host);
        var index = netlink.ListLinks().Single(l => l.Name == "caliB").Index;
        var requests = new List<NetlinkRequest>();
        for (var i = 0; i < 600; i++)
        {
            var target = i == 300 ? 999_999 : index;
            requests.Add(new ReplaceRoute(new RouteSpec(IPNetwork.Parse($"10.66.{i / 256}.{i % 256}/32"), target, null, false, RouteScope.Link, Protocol)));
        }

        var results = netlink.Execute(requests);

        Assert.Equal(600, results.Count);
        Assert.Equal(NetlinkError.NoSuchDevice, results[300]!.Errno);
        Assert.Equal(599, results.Count(r => r is null));
        Assert.Equal(599, netlink.ListRoutes(IpVersion.V4, Protocol).Count);
    }

    [Fact]
    public async Task Routes_via_a_gateway_on_link_and_neighbours_are_programmed()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("neigh");
        await host.IpCheckedAsync("link", "add", "caliC", "type", "veth", "peer", "name", "peerC");
        await host.IpCheckedAsync("link", "set", "caliC", "up");
        using var netlink = Open(host);
        var index = netlink.ListLinks().Single(l => l.Name == "caliC").Index;
        var remote = new RouteSpec(IPNetwork.Parse("10.67.0.5/32"), index, IPAddress.Parse("192.0.2.1"), true, RouteScope.Universe, Protocol);
        byte[] mac = [0x96, 0xc4, 0x86, 0x4d, 0xd7, 0x2c];

        var results = netlink.Execute([
            new ReplaceRoute(remote),
            new ReplaceNeighbor(index, IPAddress.Parse("10.67.0.9"), mac),
            new ReplaceNeighbor(index, IPAddress.Parse("fd67::9"), mac),
            new ReplaceProxyNeighbor(index, IPAddress.Parse("fe80::1")),
        ]);

        Assert.All(results, r => Assert.Null(r));
        Assert.Equal([remote], netlink.ListRoutes(IpVersion.V4, Protocol));
        Assert.Contains("10.67.0.9 lladdr 96:c4:86:4d:d7:2c PERMANENT", (await host.IpCheckedAsync("-4", "neigh", "show", "dev", "caliC")).StandardOutput, StringComparison.Ordinal);
        Assert.Contains("fd67::9 lladdr 96:c4:86:4d:d7:2c PERMANENT", (await host.IpCheckedAsync("-6", "neigh", "show", "dev", "caliC")).StandardOutput, StringComparison.Ordinal);
        Assert.Contains("fe80::1", (await host.IpCheckedAsync("-6", "neigh", "show", "proxy", "dev", "caliC")).StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_errors_extended_ack_message_is_passed_on()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("extack");
        using var netlink = Open(host);

        var route = new RouteSpec(IPNetwork.Parse("10.68.0.1/32"), 1, IPAddress.Parse("fd00::1"), false, RouteScope.Universe, Protocol);
        var error = Assert.Single(netlink.Execute([new ReplaceRoute(route)]));

        Assert.NotNull(error);
        Assert.NotEqual(0, error.Errno);
        Assert.False(string.IsNullOrEmpty(error.Message), $"no extended ack message in {error}");
    }

    [Fact]
    public async Task Link_events_arrive_for_links_added_and_deleted()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("events");
        using var netlink = Open(host);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var seen = new List<LinkEvent>();
        var watching = Task.Run(async () =>
        {
            await foreach (var linkEvent in netlink.WatchLinksAsync(cancel.Token))
            {
                lock (seen)
                {
                    seen.Add(linkEvent);
                }
                if (linkEvent is LinkDeleted { Name: "caliD" })
                {
                    return;
                }
            }
        });

        await host.IpCheckedAsync("link", "add", "caliD", "type", "veth", "peer", "name", "peerD");
        await host.IpCheckedAsync("link", "del", "caliD");
        await watching;

        lock (seen)
        {
            Assert.Contains(seen, e => e is LinkUpdated { Link.Name: "caliD" });
            Assert.Contains(seen, e => e is LinkDeleted { Name: "caliD" });
        }
    }

    private static RouteNetlink Open(NetNs netns) => NetworkNamespace.Run(netns.Name, RouteNetlink.Open);

    /// <summary>A caller that holds the given routes and says so when asked.</summary>
    private sealed class Known(IReadOnlyList<RouteSpec> held) : IKnownRoutes
    {
        public int Starts { get; private set; }

        public int Held { get; private set; }

        public void DumpStarting() => (Starts, Held) = (Starts + 1, 0);

        public bool Holds(in DumpedRoute route)
        {
            foreach (var candidate in held)
            {
                if (route.Is(candidate))
                {
                    Held++;
                    return true;
                }
            }
            return false;
        }
    }
}
