using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Felix.Dataplane;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Iptables;
using Prometheus;

namespace Felix.IntegrationTests.Routes;

/// <summary>
/// <see cref="RouteTable"/> with the real netlink, link events and conntrack, inside a host
/// namespace: the host reaches a workload once its route is programmed, a restart sends no request,
/// routes of other protocols stay (also to a claimed destination), a recreated interface gets its route back from the link event,
/// a moved address loses its flows, remote routes go via their host's address or wait when
/// no link reaches it, and carry workload traffic between two hosts on one link (RemoteWorkloads),
/// and a route deleted or moved by hand is put back by the periodic read-back (Repair).
/// What the fake kernel of the unit tests copies is checked here against the real one.
/// </summary>
public sealed partial class RouteTableTests : IDisposable
{
    private static readonly RouteTableOptions Quick = new()
    {
        RefreshInterval = TimeSpan.Zero,
        InitialBackoff = TimeSpan.Zero,
        MaxBackoff = TimeSpan.Zero,
        MaxAttempts = 3,
    };

    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly RecordingLogger<RouteTable> _log = new();

    private readonly List<ConntrackNetlink> _conntrack = [];

    public RouteTableTests()
    {
        Require.Root();
    }

    public void Dispose()
    {
        _conntrack.ForEach(c => c.Dispose());
    }

    [Theory]
    [InlineData("10.65.1.2", "10.99.0.1")]
    [InlineData("fd65::1:2", "fd99::1")]
    public async Task The_host_reaches_a_workload_once_its_route_is_programmed(string workloadAddress, string hostAddress)
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateHostNamespaceAsync("host", IPAddress.Parse(hostAddress));
        var workload = await net.CreateWorkloadAsync(host, IPAddress.Parse(workloadAddress));
        var ipv6 = workload.Address.AddressFamily == AddressFamily.InterNetworkV6;
        using var netlink = NetworkNamespace.Run(host.Name, RouteNetlink.Open);
        ConfigureInterface(host, netlink, workload);
        Assert.False(await PingAsync(host, workload.Address, attempts: 1), "reached the workload before its route");
        var table = New(netlink, ipv6 ? IpVersion.V6 : IpVersion.V4, host);

        table.SetRoutes(workload.HostInterface, [IPNetwork.Parse(workload.Cidr)]);
        Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());

        Assert.True(await PingAsync(host, workload.Address, attempts: 10), _log.ToString());
        var routes = (await host.IpCheckedAsync(ipv6 ? "-6" : "-4", "route", "show", "proto", "80")).StandardOutput;
        Assert.Contains(ipv6 ? $"{workload.Address} dev {workload.HostInterface} metric 1024" : $"{workload.Address} dev {workload.HostInterface} scope link", routes,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_restart_sends_no_request_our_strays_go_and_routes_of_other_protocols_stay()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("restart");
        var cali = NetworkNamespaces.NewInterfaceName();
        await AddVethAsync(host, cali, "peer0");
        await host.IpCheckedAsync("route", "add", "10.65.9.9/32", "dev", cali, "proto", "boot");
        await host.IpCheckedAsync("route", "add", "10.65.9.8/32", "dev", cali, "proto", "80");
        await host.IpCheckedAsync("-6", "route", "add", "fd65::9/128", "dev", cali, "proto", "80");
        using var real = NetworkNamespace.Run(host.Name, RouteNetlink.Open);
        var netlink = new CountingNetlink(real);
        var v4 = New(netlink, IpVersion.V4, host);
        var v6 = New(netlink, IpVersion.V6, host);
        v4.SetRoutes(cali, [IPNetwork.Parse("10.65.2.1/32"), IPNetwork.Parse("10.65.2.2/32")]);
        v6.SetRoutes(cali, [IPNetwork.Parse("fd65::2:1/128")]);

        Assert.True(await v4.ApplyAsync(CancellationToken.None), _log.ToString());
        Assert.True(await v6.ApplyAsync(CancellationToken.None), _log.ToString());

        Assert.Equal(
            [$"10.65.2.1 dev {cali} proto 80 scope link", $"10.65.2.2 dev {cali} proto 80 scope link", $"10.65.9.9 dev {cali} scope link"],
            await RoutesAsync(host, "-4"));
        Assert.Equal([$"fd65::2:1 dev {cali} proto 80 metric 1024 pref medium"], (await RoutesAsync(host, "-6")).Where(r => r.StartsWith("fd65", StringComparison.Ordinal)));
        var requests = netlink.Requests.Count;

        var v4Again = New(netlink, IpVersion.V4, host);
        var v6Again = New(netlink, IpVersion.V6, host);
        v4Again.SetRoutes(cali, [IPNetwork.Parse("10.65.2.1/32"), IPNetwork.Parse("10.65.2.2/32")]);
        v6Again.SetRoutes(cali, [IPNetwork.Parse("fd65::2:1/128")]);
        Assert.True(await v4Again.ApplyAsync(CancellationToken.None), _log.ToString());
        Assert.True(await v6Again.ApplyAsync(CancellationToken.None), _log.ToString());

        Assert.Equal(requests, netlink.Requests.Count);
    }

    [Theory]
    [InlineData("-4", "10.65.6.1/32")]
    [InlineData("-6", "fd65::6:1/128")]
    public async Task A_foreign_route_to_a_claimed_destination_is_left_alone_until_it_goes(string family, string destination)
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("foreign");
        var cali = NetworkNamespaces.NewInterfaceName();
        await AddVethAsync(host, cali, "peer0");
        await host.IpCheckedAsync(family, "route", "add", destination, "dev", cali, "proto", "static");
        using var netlink = NetworkNamespace.Run(host.Name, RouteNetlink.Open);
        var table = New(netlink, family == "-4" ? IpVersion.V4 : IpVersion.V6, host);
        table.SetRoutes(cali, [IPNetwork.Parse(destination)]);

        Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());

        var address = destination.Split('/')[0];
        Assert.Contains(await RoutesAsync(host, family, "proto", "static"), r => r.StartsWith(address + " ", StringComparison.Ordinal));
        Assert.Empty(await RoutesAsync(host, family, "proto", "80"));
        Assert.Equal(1, Metric("felix_netlink_errors{errno=\"EEXIST\"}"));
        Assert.False(table.HasPendingWork);

        await host.IpCheckedAsync(family, "route", "del", destination, "proto", "static");
        table.RequestReadBack();
        Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());
        Assert.Contains(await RoutesAsync(host, family, "proto", "80"), r => r.StartsWith(address + " ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_recreated_interface_gets_its_route_back_from_the_link_event()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("recreate");
        var cali = NetworkNamespaces.NewInterfaceName();
        using var netlink = NetworkNamespace.Run(host.Name, RouteNetlink.Open);
        using var cancel = new CancellationTokenSource();
        await using var events = netlink.WatchLinksAsync(cancel.Token).GetAsyncEnumerator(cancel.Token);
        var table = New(netlink, IpVersion.V4, host);
        table.SetRoutes(cali, [IPNetwork.Parse("10.65.3.1/32")]);
        Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());
        Assert.False(table.HasPendingWork);

        for (var round = 0; round < 2; round++)
        {
            if (round > 0)
            {
                await host.IpCheckedAsync("link", "del", cali);
            }
            await AddVethAsync(host, cali, "peer0");
            // Events of the earlier round may still be queued: wait for this link's own.
            var index = int.Parse((await host.ExecCheckedAsync("cat", $"/sys/class/net/{cali}/ifindex")).StandardOutput.Trim(), CultureInfo.InvariantCulture);
            await PumpUntilAsync(events, table, e => e is LinkUpdated { Link.IsUp: true } up && up.Link.Index == index);
            Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());

            Assert.Equal([$"10.65.3.1 dev {cali} scope link"], await RoutesAsync(host, "-4", "proto", "80"));
        }
        await cancel.CancelAsync();
    }

    [Fact]
    public async Task An_interface_deleted_just_before_the_apply_is_waited_for_not_an_error()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("enodev");
        var cali = NetworkNamespaces.NewInterfaceName();
        await AddVethAsync(host, cali, "peer0");
        using var netlink = NetworkNamespace.Run(host.Name, RouteNetlink.Open);
        var table = New(netlink, IpVersion.V4, host);
        Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());

        table.SetRoutes(cali, [IPNetwork.Parse("10.65.4.1/32")]);
        await host.IpCheckedAsync("link", "del", cali);

        Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());
        Assert.False(table.HasPendingWork);
        Assert.Null(table.FailingSince);
        Assert.Equal(1, Metric("felix_netlink_errors{errno=\"ENODEV\"}"));
    }

    [Fact]
    public async Task A_moved_address_loses_its_flows_and_is_routed_out_of_its_new_interface()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("move");
        var (cali1, cali2) = (NetworkNamespaces.NewInterfaceName(), NetworkNamespaces.NewInterfaceName());
        await AddVethAsync(host, cali1, "peer1");
        await AddVethAsync(host, cali2, "peer2");
        using var netlink = NetworkNamespace.Run(host.Name, RouteNetlink.Open);
        var table = New(netlink, IpVersion.V4, host);
        table.SetRoutes(cali1, [IPNetwork.Parse("10.65.5.1/32")]);
        Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());
        var conntrack = Require.Executable("conntrack", "conntrack");
        await host.ExecCheckedAsync(conntrack, "-I", "-p", "tcp", "-s", "10.0.0.9", "-d", "10.65.5.1", "--sport", "40000", "--dport", "80",
            "--state", "ESTABLISHED", "-u", "ASSURED", "-t", "300");

        table.RemoveInterface(cali1);
        table.SetRoutes(cali2, [IPNetwork.Parse("10.65.5.1/32")]);
        Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());

        Assert.Equal([$"10.65.5.1 dev {cali2} scope link"], await RoutesAsync(host, "-4", "proto", "80"));
        Assert.DoesNotContain("10.65.5.1", (await host.ExecCheckedAsync(conntrack, "-L")).StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Remote_routes_go_via_their_hosts_address_and_one_no_link_reaches_waits()
    {
        await using var net = new NetworkNamespaces();
        // A flat layer-2 network: the hosts' addresses share eth0's prefix; no default route, so 192.168.9.9 is reached by no link.
        var host = await net.CreateNamespaceAsync("remote");
        await AddVethAsync(host, "eth0", "eth0-peer");
        await host.IpCheckedAsync("address", "add", "192.168.1.1/24", "dev", "eth0");
        using var netlink = NetworkNamespace.Run(host.Name, RouteNetlink.Open);
        var table = New(netlink, IpVersion.V4, host);
        table.SetRemoteRoutes("host2/k8s/pod/eth0", [IPNetwork.Parse("10.70.0.5/32")], IPAddress.Parse("192.168.1.2"));
        table.SetRemoteRoutes("host3/k8s/pod/eth0", [IPNetwork.Parse("10.70.0.6/32")], IPAddress.Parse("192.168.9.9"));

        Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());

        Assert.Equal(["10.70.0.5 via 192.168.1.2 dev eth0"], await RoutesAsync(host, "-4", "proto", "80"));
        Assert.Equal(1, Metric("felix_netlink_errors{errno=\"ENETUNREACH\"}"));
        Assert.False(table.HasPendingWork);
        Assert.Contains(_log.Lines, l => l.Contains("Gateway 192.168.9.9 is not on any local link", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Ten_thousand_routes_are_programmed_read_back_and_left_alone_by_a_restart()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("scale");
        var cali = NetworkNamespaces.NewInterfaceName();
        await AddVethAsync(host, cali, "peer0");
        using var real = NetworkNamespace.Run(host.Name, RouteNetlink.Open);
        var destinations = Enumerable.Range(0, 10_000)
            .Select(i => new IPNetwork(new IPAddress([10, 70, (byte)(i >> 8), (byte)i]), 32)).ToList();
        var table = New(real, IpVersion.V4, host);

        table.SetRoutes(cali, destinations);
        Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());

        var index = real.ListLinks().Single(l => l.Name == cali).Index;
        var programmed = real.ListRoutes(IpVersion.V4, 80);
        Assert.Equal(10_000, programmed.Count);
        Assert.All(programmed, r => Assert.True(r.InterfaceIndex == index && r.Scope == RouteScope.Link, $"unexpected {r}"));
        Assert.Equal(destinations.ToHashSet(), programmed.Select(r => r.Destination).ToHashSet());
        var shown = (await host.IpCheckedAsync("-4", "route", "show", "proto", "80")).StandardOutput;
        Assert.Equal(10_000, shown.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        var counting = new CountingNetlink(real);
        var restarted = New(counting, IpVersion.V4, host);
        restarted.SetRoutes(cali, destinations);
        Assert.True(await restarted.ApplyAsync(CancellationToken.None), _log.ToString());
        Assert.Empty(counting.Requests);

        restarted.SetRoutes(cali, destinations.Skip(1));
        Assert.True(await restarted.ApplyAsync(CancellationToken.None), _log.ToString());
        Assert.Equal([new DeleteRoute(programmed.Single(r => r.Destination == destinations[0]))], counting.Requests);
        Assert.Equal(9_999, real.ListRoutes(IpVersion.V4, 80).Count);
    }

    /// <summary>A veth pair with both ends up (a down peer would mark the routes "linkdown").</summary>
    private static async Task AddVethAsync(NetNs host, string name, string peer)
    {
        await host.IpCheckedAsync("link", "add", name, "type", "veth", "peer", "name", peer);
        await host.IpCheckedAsync("link", "set", peer, "up");
        await host.IpCheckedAsync("link", "set", name, "up");
    }

    private RouteTable New(IRouteNetlink netlink, IpVersion version, NetNs host, RouteTableOptions? options = null)
    {
        var conntrack = NetworkNamespace.Run(host.Name, ConntrackNetlink.Open);
        _conntrack.Add(conntrack);
        return new(version, netlink, conntrack, new RouteTableMetrics(Metrics.WithCustomRegistry(_registry)), _log, options ?? Quick, TimeProvider.System);
    }

    /// <summary>Proxy ARP/NDP and the neighbour entry, so the workload's replies come back; the route is the table's.</summary>
    private void ConfigureInterface(NetNs host, IRouteNetlink netlink, Workload workload)
    {
        var ipv6 = workload.Address.AddressFamily == AddressFamily.InterNetworkV6;
        var configurator = new InterfaceConfigurator(netlink, new ProcSysctls(), new InterfaceMetrics(Metrics.WithCustomRegistry(_registry)), _log,
            new InterfaceConfiguratorOptions(), TimeProvider.System);
        configurator.SetInterface(new WorkloadInterface(workload.HostInterface, PhysicalAddress.Parse(workload.Mac.Replace(':', '-')),
            ipv6 ? [] : [workload.Address], ipv6 ? [workload.Address] : [], ipv6 ? NetworkNamespaces.Ipv6Gateway : null));
        Assert.True(NetworkNamespace.Run(host.Name, configurator.Apply), _log.ToString());
    }

    /// <summary>Feeds link events to the table until one matches, as the agent's pump would.</summary>
    private static async Task PumpUntilAsync(IAsyncEnumerator<LinkEvent> events, RouteTable table, Func<LinkEvent, bool> until)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await events.MoveNextAsync().AsTask().WaitAsync(timeout.Token))
        {
            table.OnLinkEvent(events.Current);
            if (until(events.Current))
            {
                return;
            }
        }
        Assert.Fail("the link events ended");
    }

    private static async Task<List<string>> RoutesAsync(NetNs host, string family, params string[] selector) =>
        [.. (await host.IpCheckedAsync([family, "route", "show", .. selector])).StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal)];

    private static async Task<bool> PingAsync(NetNs host, IPAddress address, int attempts)
    {
        for (var i = 0; i < attempts; i++)
        {
            if ((await host.ExecAsync(TimeSpan.FromSeconds(10), "ping", "-c", "1", "-W", "1", address.ToString())).Succeeded)
            {
                return true;
            }
        }
        return false;
    }

    private double Metric(string series)
    {
        using var stream = new MemoryStream();
        _registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        var line = System.Text.Encoding.UTF8.GetString(stream.ToArray()).Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }
}
