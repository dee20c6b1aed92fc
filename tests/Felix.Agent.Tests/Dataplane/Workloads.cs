using System.Net;
using Felix.Agent.Calculation;
using Felix.Agent.Model;

namespace Felix.Agent.Tests.Dataplane;

/// <summary>Hand-built updates, for what the calculation would never send (a batch before in sync) or to pick exact keys and interfaces.</summary>
internal static class Workloads
{
    public static WorkloadEndpointKey Key(string workload) => new(DriverHarness.Hostname, "k8s", workload, "eth0");

    public static EndpointUpdate Endpoint(string workload, string interfaceName, string[] addresses,
        EndpointState state = EndpointState.Active, string profile = "db", string? mac = null, string? ipv6Gateway = null) =>
        new(Key(workload), state, interfaceName, mac, EquatableList.From([profile]),
            EquatableList.From(addresses.Where(a => !a.Contains(':')).Select(a => IPNetwork.Parse(a + "/32"))),
            EquatableList.From(addresses.Where(a => a.Contains(':')).Select(a => IPNetwork.Parse(a + "/128"))),
            null, ipv6Gateway is null ? null : IPAddress.Parse(ipv6Gateway));

    /// <summary>A profile that allows everything both ways and references no tag.</summary>
    public static ProfileUpdate OpenProfile(string id) =>
        new(id, new ProfileRules([new Rule()], [new Rule()]));

    public static PoolUpdate Pool(string cidr, bool masquerade)
    {
        var network = IPNetwork.Parse(cidr);
        return new PoolUpdate(PoolKey(cidr), new IpPool(network, masquerade));
    }

    public static IpPoolKey PoolKey(string cidr)
    {
        var network = IPNetwork.Parse(cidr);
        return new IpPoolKey(cidr.Contains(':') ? IpVersion.V6 : IpVersion.V4, network);
    }

    public static IPNetwork Host(string address) => IPNetwork.Parse(address + (address.Contains(':') ? "/128" : "/32"));
}
