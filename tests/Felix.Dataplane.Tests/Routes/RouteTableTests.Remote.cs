using System.Net;
using Microsoft.Extensions.Logging;
using static Felix.Dataplane.Tests.Routes.RouteTableHarness;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>RemoteWorkloadRoutes: remote endpoints routed via their host's address on a flat network.</summary>
public sealed partial class RouteTableTests
{
    private const string RemoteEndpoint = "host2/k8s/default.pod/eth0";
    private static readonly IPAddress Host2 = IPAddress.Parse("192.168.1.2");
    private static readonly IPAddress Host3 = IPAddress.Parse("192.168.1.3");

    private int AddUplink(string name = "eth0", string network = "192.168.1.0/24")
    {
        var index = _harness.Netlink.AddLink(name);
        _harness.Netlink.AddConnectedNetwork(name, IPNetwork.Parse(network));
        return index;
    }

    [Fact]
    public async Task A_remote_endpoint_is_routed_via_its_host_with_no_device_and_the_kernel_picks_the_link()
    {
        var eth0 = AddUplink();
        var table = _harness.NewTable();
        table.SetRemoteRoutes(RemoteEndpoint, Nets("10.70.0.5", "10.70.0.6"), Host2);

        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Equal(["add 10.70.0.5/32 via 192.168.1.2 proto 80", "add 10.70.0.6/32 via 192.168.1.2 proto 80"], steps);
        Assert.Equal($"10.70.0.5/32 via 192.168.1.2 dev {eth0} proto 80", _harness.RouteTo("10.70.0.5/32"));

        _harness.Clock.Advance(Options.RefreshInterval);
        await ApplyAsync(table);
        Assert.Single(_harness.Netlink.Batches);
    }

    [Fact]
    public async Task A_remote_endpoint_whose_host_changes_address_is_deleted_flushed_and_routed_via_the_new_one()
    {
        var eth0 = AddUplink();
        var table = _harness.NewTable();
        table.SetRemoteRoutes(RemoteEndpoint, Nets("10.70.0.5"), Host2);
        await ApplyAsync(table);

        table.SetRemoteRoutes(RemoteEndpoint, Nets("10.70.0.5"), Host3);
        var steps = await _harness.Recording(() => ApplyAsync(table));

        // The delete names the link the kernel chose, as the table asked it after the add.
        Assert.Equal($"delete 10.70.0.5/32 via 192.168.1.2 dev {eth0} proto 80", steps[0]);
        Assert.Equal(1, steps.Count(s => s.StartsWith("conntrack", StringComparison.Ordinal)));
        Assert.Equal("add 10.70.0.5/32 via 192.168.1.3 proto 80", steps[^1]);

        table.RemoveRemoteRoutes(RemoteEndpoint);
        await ApplyAsync(table);
        Assert.Empty(_harness.OurRoutes());
    }

    [Fact]
    public async Task A_gateway_on_no_local_link_waits_without_failing_is_logged_once_and_is_routed_when_a_link_reaches_it()
    {
        AddUplink(network: "192.168.9.0/24");
        var table = _harness.NewTable();
        table.SetRemoteRoutes(RemoteEndpoint, Nets("10.70.0.5", "10.70.0.6"), Host2);

        await ApplyAsync(table);

        Assert.Equal(2, _harness.Timeline.Count(s => s.EndsWith("-> ENETUNREACH", StringComparison.Ordinal)));
        Assert.Single(_harness.Log.Entries, e => e.Level == LogLevel.Warning && e.Message.StartsWith("Gateway 192.168.1.2 is not on any local link", StringComparison.Ordinal));
        Assert.False(table.HasPendingWork);
        Assert.Null(table.FailingSince);

        var eth1 = _harness.Netlink.AddLink("eth1", up: false);
        _harness.Netlink.AddConnectedNetwork("eth1", IPNetwork.Parse("192.168.1.0/24"));
        _harness.Netlink.SetLinkState("eth1", up: true);
        _harness.Pump(table);
        await ApplyAsync(table);

        Assert.Equal($"10.70.0.5/32 via 192.168.1.2 dev {eth1} proto 80", _harness.RouteTo("10.70.0.5/32"));
        Assert.Contains(_harness.Log.Entries, e => e.Message == "Gateway 192.168.1.2 is reachable again; routing via it");
    }

    [Fact]
    public async Task Remote_routes_dropped_with_their_uplink_come_back_with_it()
    {
        AddUplink();
        var table = _harness.NewTable();
        table.SetRemoteRoutes(RemoteEndpoint, Nets("10.70.0.5"), Host2);
        await ApplyAsync(table);

        _harness.Netlink.SetLinkState("eth0", up: false);
        _harness.Pump(table);
        await ApplyAsync(table);
        Assert.Empty(_harness.OurRoutes());
        Assert.False(table.HasPendingWork);

        _harness.Netlink.SetLinkState("eth0", up: true);
        _harness.Pump(table);
        await ApplyAsync(table);
        Assert.NotNull(_harness.RouteTo("10.70.0.5/32"));
    }

    [Fact]
    public async Task A_local_workload_beats_a_remote_claim_on_its_address()
    {
        var cali1 = _harness.Netlink.AddLink("cali1");
        AddUplink();
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        table.SetRemoteRoutes(RemoteEndpoint, Nets("10.65.0.1"), Host2);
        await ApplyAsync(table);

        Assert.Equal($"10.65.0.1/32 dev {cali1} scope link proto 80", _harness.RouteTo("10.65.0.1/32"));

        table.RemoveInterface("cali1");
        await ApplyAsync(table);
        Assert.Equal($"10.65.0.1/32 via 192.168.1.2 dev {_harness.Netlink.IndexOf("eth0")} proto 80", _harness.RouteTo("10.65.0.1/32"));
    }
}
