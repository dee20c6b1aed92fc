using System.Net;
using System.Net.Sockets;
using Felix.Agent.Calculation;
using Felix.Agent.Dataplane;
using Felix.Agent.Datastore;
using Felix.Agent.Model;
using Felix.Dataplane.Netlink;
using Microsoft.Extensions.Logging;
using NSubstitute;

namespace Felix.Agent.Tests.Dataplane;

/// <summary>
/// Local endpoints through the driver to routes, interface settings and status reports: a route
/// waits for its interface's link event, an inactive endpoint gets neither, one interface has one
/// owner, and each endpoint's status is reported when it changes.
/// </summary>
public class EndpointDataplaneTests
{
    private static readonly TimeSpan Throttle = new DriverOptions().MinApplyInterval;

    [Fact]
    public async Task An_endpoint_whose_interface_appears_later_gets_its_route_after_the_link_event()
    {
        await using var host = new DriverHarness();
        await host.StartAsync();
        await host.SendAsync(new SeedCluster().Snapshot());
        var address = Workloads.Host("192.168.0.1");
        Assert.Null(host.Netlink.Route(address));
        Assert.Null(host.Sysctls[$"net/ipv4/conf/{SeedCluster.DbInterface}/proxy_arp"]);
        host.StatusReporter.Received(1).Report(SeedCluster.DbEndpoint, EndpointStatus.Down);

        // The CNI plugin creates the veth a moment after the endpoint was programmed.
        await host.AddLinkAsync(SeedCluster.DbInterface);
        await host.AdvanceAsync(Throttle);

        Assert.Equal(2, host.Applies);
        Assert.Equal(host.Netlink.IndexOf(SeedCluster.DbInterface), host.Netlink.Route(address)?.InterfaceIndex);
        Assert.Equal("1", host.Sysctls[$"net/ipv4/conf/{SeedCluster.DbInterface}/proxy_arp"]);
        host.StatusReporter.Received(1).Report(SeedCluster.DbEndpoint, EndpointStatus.Up);
    }

    [Fact]
    public async Task An_inactive_endpoint_gets_no_route_and_no_interface_configuration_until_it_is_active()
    {
        await using var host = new DriverHarness();
        host.AddLinkBeforeStart("caliweb");
        await host.StartAsync();
        var inactive = Workloads.Endpoint("web", "caliweb", ["10.65.0.2", "fd00::2"], EndpointState.Inactive, profile: "open", mac: "02:00:00:00:00:02");

        await host.SendAsync(Workloads.OpenProfile("open"), inactive, new InSync());

        Assert.Empty(host.Netlink.RoutesOf(IpVersion.V4, 80).Concat(host.Netlink.RoutesOf(IpVersion.V6, 80)));
        Assert.DoesNotContain(host.Netlink.Requests, r => r is ReplaceNeighbor or ReplaceProxyNeighbor);
        Assert.DoesNotContain(host.Sysctls.Writes, w => w.Path.Contains("/caliweb/", StringComparison.Ordinal));
        // Its chains are there, and drop.
        Assert.NotNull(host.Commands.Iptables.Chain(IpVersion.V4, "filter", "felix-to-web"));
        host.StatusReporter.Received(1).Report(Workloads.Key("web"), EndpointStatus.Down);

        await host.SendAsync(inactive with { State = EndpointState.Active });
        await host.AdvanceAsync(Throttle);

        var link = host.Netlink.IndexOf("caliweb");
        Assert.Equal(link, host.Netlink.Route(Workloads.Host("10.65.0.2"))?.InterfaceIndex);
        Assert.Equal(link, host.Netlink.Route(Workloads.Host("fd00::2"))?.InterfaceIndex);
        Assert.Equal("1", host.Sysctls["net/ipv6/conf/caliweb/proxy_ndp"]);
        host.StatusReporter.Received(1).Report(Workloads.Key("web"), EndpointStatus.Up);
    }

    [Fact]
    public async Task Of_two_endpoints_claiming_one_interface_the_first_key_wins_and_the_clash_is_logged_once()
    {
        await using var host = new DriverHarness();
        host.AddLinkBeforeStart("calishared");
        await host.StartAsync();
        var first = Workloads.Endpoint("a", "calishared", ["10.65.0.1"], profile: "open");
        var second = Workloads.Endpoint("b", "calishared", ["10.65.0.2"], profile: "open");

        // The later key arrives first: ownership goes by key, not by arrival.
        await host.SendAsync(Workloads.OpenProfile("open"), second, first, new InSync());

        Assert.NotNull(host.Netlink.Route(Workloads.Host("10.65.0.1")));
        Assert.Null(host.Netlink.Route(Workloads.Host("10.65.0.2")));
        Assert.Single(host.Log.Warnings, w => w.Contains("calishared", StringComparison.Ordinal));

        // The loser changing does not change the owner, nor repeat the warning.
        await host.SendAsync(second with { Ipv4Nets = EquatableList.From([Workloads.Host("10.65.0.3")]) });
        await host.AdvanceAsync(Throttle);
        Assert.NotNull(host.Netlink.Route(Workloads.Host("10.65.0.1")));
        Assert.Null(host.Netlink.Route(Workloads.Host("10.65.0.3")));
        Assert.Single(host.Log.Warnings, w => w.Contains("calishared", StringComparison.Ordinal));

        // The owner gone, the other endpoint takes the interface.
        await host.SendAsync(new EndpointRemove(first.Key));
        await host.AdvanceAsync(Throttle);
        Assert.Null(host.Netlink.Route(Workloads.Host("10.65.0.1")));
        Assert.NotNull(host.Netlink.Route(Workloads.Host("10.65.0.3")));
    }

    [Fact]
    public async Task Endpoint_status_is_reported_only_when_it_changes()
    {
        await using var host = new DriverHarness();
        host.AddLinkBeforeStart(SeedCluster.DbInterface);
        await host.StartAsync();
        var seed = new SeedCluster();
        await host.SendAsync(seed.Snapshot());
        host.StatusReporter.Received(1).Report(SeedCluster.DbEndpoint, EndpointStatus.Up);

        // Applies that change nothing about the endpoint report nothing about it.
        for (var i = 1; i <= 3; i++)
        {
            await host.SendAsync(seed.Put($"/calico/v1/host/node2/workload/docker/app{i}/endpoint/e{i}",
                $$"""{"state":"active","name":"calie{{i}}","profile_ids":["app"],"ipv4_nets":["10.0.0.{{i}}/32"],"ipv6_nets":[]}"""));
            await host.AdvanceAsync(Throttle);
        }
        Assert.Equal(4, host.Applies);
        host.StatusReporter.Received(1).Report(Arg.Any<WorkloadEndpointKey>(), Arg.Any<EndpointStatus>());

        // Its link gone: down, once.
        await host.DeleteLinkAsync(SeedCluster.DbInterface);
        await host.AdvanceAsync(Throttle);
        host.StatusReporter.Received(1).Report(SeedCluster.DbEndpoint, EndpointStatus.Down);

        await host.SendAsync(seed.Put("/calico/v1/host/node1/workload/docker/container1/endpoint/2466cece7bc", """{"state":"inactive","name":"cali2466cece7bc","profile_ids":["db"],"ipv4_nets":["192.168.0.1/32"],"ipv6_nets":[]}"""));
        await host.AdvanceAsync(Throttle);
        host.StatusReporter.Received(1).Report(SeedCluster.DbEndpoint, EndpointStatus.Down);
        host.StatusReporter.DidNotReceive().Remove(Arg.Any<WorkloadEndpointKey>());

        await host.SendAsync(new EndpointRemove(SeedCluster.DbEndpoint));
        await host.AdvanceAsync(Throttle);
        host.StatusReporter.Received(1).Remove(SeedCluster.DbEndpoint);
        Assert.Equal(3, host.StatusReporter.ReceivedCalls().Count());
    }

    [Fact]
    public async Task Link_events_also_reach_the_driver_through_its_input_channel_in_order_with_the_updates()
    {
        await using var host = new DriverHarness();
        await host.StartAsync();
        await host.SendAsync(new SeedCluster().Snapshot());
        await host.AdvanceAsync(Throttle);

        // Created with the fake announcing nothing: only the event the test passes in tells the driver.
        host.Netlink.EmitEvents = false;
        host.Sysctls.AddInterface(SeedCluster.DbInterface);
        var index = host.Netlink.AddLink(SeedCluster.DbInterface);
        host.SendLink(new LinkUpdated(new LinkInfo(index, SeedCluster.DbInterface, true, null)));
        await host.SettleAsync();
        await host.AdvanceAsync(Throttle);

        Assert.Equal(index, host.Netlink.Route(Workloads.Host("192.168.0.1"))?.InterfaceIndex);
        Assert.True(host.Setup.Applier.Interfaces.IsConfigured(SeedCluster.DbInterface));
    }

    [Fact]
    public async Task Ipv6_off_touches_no_ipv6_set_table_or_route()
    {
        await using var host = new DriverHarness(new HarnessOptions { Ipv6Support = false });
        host.AddLinkBeforeStart("caliweb");
        await host.StartAsync();

        await host.SendAsync(
            new IpSetUpdate(new IpSetId("web", IpVersion.V4), EquatableList.From([IPAddress.Parse("10.65.0.2")])),
            new IpSetUpdate(new IpSetId("web", IpVersion.V6), EquatableList.From([IPAddress.Parse("fd00::2")])),
            Workloads.Pool("fd00::/64", masquerade: true),
            Workloads.OpenProfile("open"),
            Workloads.Endpoint("web", "caliweb", ["10.65.0.2", "fd00::2"], profile: "open", mac: "02:00:00:00:00:02", ipv6Gateway: "fe80::1"),
            new InSync());

        Assert.True(host.Health.Snapshot().Ready);
        Assert.DoesNotContain(host.Commands.Runs, r => r.Program.StartsWith("ip6tables", StringComparison.Ordinal));
        Assert.Equal(["felix-all-ipam-pools", "felix-masq-ipam-pools", "felix-v4-web"], host.Commands.Ipset.SetNames().Order(StringComparer.Ordinal));
        Assert.NotNull(host.Netlink.Route(Workloads.Host("10.65.0.2")));
        Assert.Empty(host.Netlink.RoutesOf(IpVersion.V6, 80));
        Assert.DoesNotContain(host.Netlink.Requests, n => n is ReplaceProxyNeighbor or ReplaceNeighbor { Address.AddressFamily: AddressFamily.InterNetworkV6 });
        Assert.DoesNotContain(host.Sysctls.Writes, w => w.Path.StartsWith("net/ipv6/", StringComparison.Ordinal) && !w.Path.EndsWith("/accept_ra", StringComparison.Ordinal));
    }
}
