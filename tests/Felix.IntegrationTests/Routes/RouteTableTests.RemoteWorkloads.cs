using System.Net;
using System.Net.Sockets;
using Felix.Dataplane;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Routes;

// RemoteWorkloadRoutes end to end: two hosts on one flat layer-2 link, a workload on each, and
// nothing but the tables' remote routes between one workload and the other.
public sealed partial class RouteTableTests
{
    private const string LanInterface = "eth-lan";

    [Theory]
    [InlineData("192.168.50.1/24", "192.168.50.2/24", "10.65.1.2", "10.65.2.2")]
    [InlineData("fd50::1/64", "fd50::2/64", "fd65::1:2", "fd65::2:2")]
    public async Task Workloads_on_two_hosts_reach_each_other_only_while_routed_via_the_other_host(
        string lan1, string lan2, string workload1Address, string workload2Address)
    {
        var gateway1 = AddressOf(lan1);
        var gateway2 = AddressOf(lan2);
        var ipv6 = gateway1.AddressFamily == AddressFamily.InterNetworkV6;
        var family = ipv6 ? "-6" : "-4";
        var version = ipv6 ? IpVersion.V6 : IpVersion.V4;
        await using var net = new NetworkNamespaces();
        // Each host's default route goes out of its own eth0, a dead end: proxy ARP needs the
        // workloads' gateway routed out of another interface, and the other host's workload must
        // be reachable only through the remote route, not by a default route across the LAN.
        var host1 = await net.CreateHostNamespaceAsync("host1", IPAddress.Parse(ipv6 ? "fd99::1" : "10.99.0.1"));
        var host2 = await net.CreateHostNamespaceAsync("host2", IPAddress.Parse(ipv6 ? "fd99::2" : "10.99.0.2"));
        await ConnectLanAsync(host1, lan1, host2, lan2);
        var workload1 = await net.CreateWorkloadAsync(host1, IPAddress.Parse(workload1Address));
        var workload2 = await net.CreateWorkloadAsync(host2, IPAddress.Parse(workload2Address));
        using var netlink1 = NetworkNamespace.Run(host1.Name, RouteNetlink.Open);
        using var netlink2 = NetworkNamespace.Run(host2.Name, RouteNetlink.Open);
        // Also turns forwarding on, in the namespace the configurator is run in (its host's).
        ConfigureInterface(host1, netlink1, workload1);
        ConfigureInterface(host2, netlink2, workload2);
        var table1 = New(netlink1, version, host1);
        var table2 = New(netlink2, version, host2);
        table1.SetRoutes(workload1.HostInterface, [IPNetwork.Parse(workload1.Cidr)]);
        table2.SetRoutes(workload2.HostInterface, [IPNetwork.Parse(workload2.Cidr)]);
        Assert.True(await table1.ApplyAsync(CancellationToken.None), _log.ToString());
        Assert.True(await table2.ApplyAsync(CancellationToken.None), _log.ToString());
        Assert.False(await PingAsync(workload1.Namespace, workload2.Address, attempts: 1), "reached the other host's workload before the remote routes");

        const string key1 = "host1/k8s/pod-a/eth0";
        const string key2 = "host2/k8s/pod-b/eth0";
        table1.SetRemoteRoutes(key2, [IPNetwork.Parse(workload2.Cidr)], gateway2);
        table2.SetRemoteRoutes(key1, [IPNetwork.Parse(workload1.Cidr)], gateway1);
        Assert.True(await table1.ApplyAsync(CancellationToken.None), _log.ToString());
        Assert.True(await table2.ApplyAsync(CancellationToken.None), _log.ToString());

        Assert.Contains(await RoutesAsync(host1, family, "proto", "80"), r => r.StartsWith($"{workload2.Address} via {gateway2} dev {LanInterface}", StringComparison.Ordinal));
        Assert.Contains(await RoutesAsync(host2, family, "proto", "80"), r => r.StartsWith($"{workload1.Address} via {gateway1} dev {LanInterface}", StringComparison.Ordinal));
        Assert.True(await PingAsync(workload1.Namespace, workload2.Address, attempts: 10), _log.ToString());
        Assert.True(await PingAsync(workload2.Namespace, workload1.Address, attempts: 10), _log.ToString());

        table1.RemoveRemoteRoutes(key2);
        table2.RemoveRemoteRoutes(key1);
        Assert.True(await table1.ApplyAsync(CancellationToken.None), _log.ToString());
        Assert.True(await table2.ApplyAsync(CancellationToken.None), _log.ToString());

        // Only the local workload's route is left on each host.
        Assert.Equal([workload1.Address.ToString()], (await RoutesAsync(host1, family, "proto", "80")).Select(r => r.Split(' ')[0]));
        Assert.Equal([workload2.Address.ToString()], (await RoutesAsync(host2, family, "proto", "80")).Select(r => r.Split(' ')[0]));
        Assert.False(await PingAsync(workload1.Namespace, workload2.Address, attempts: 1), "reached the other host's workload after its remote route was removed");
        Assert.False(await PingAsync(workload2.Namespace, workload1.Address, attempts: 1), "reached the other host's workload after its remote route was removed");
    }

    /// <summary>The flat layer-2 network: one veth between the two hosts, an address of one prefix on each end.</summary>
    private static async Task ConnectLanAsync(NetNs host1, string lan1, NetNs host2, string lan2)
    {
        await host1.IpCheckedAsync("link", "add", LanInterface, "type", "veth", "peer", "name", LanInterface, "netns", host2.Name);
        foreach (var (host, address) in new[] { (host1, lan1), (host2, lan2) })
        {
            // nodad: an IPv6 address is usable at once instead of after duplicate address detection.
            string[] noDad = AddressOf(address).AddressFamily == AddressFamily.InterNetworkV6 ? ["nodad"] : [];
            await host.IpCheckedAsync(["address", "add", address, "dev", LanInterface, .. noDad]);
            await host.IpCheckedAsync("link", "set", LanInterface, "up");
        }
    }

    // Not IPNetwork.Parse: it refuses an address with host bits set, which an interface address has.
    private static IPAddress AddressOf(string interfaceAddress) => IPAddress.Parse(interfaceAddress.Split('/')[0]);
}
