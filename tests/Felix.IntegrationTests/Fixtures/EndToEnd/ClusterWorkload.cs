using System.Net;
using System.Net.Sockets;

namespace Felix.IntegrationTests.Fixtures.EndToEnd;

/// <summary>
/// A container of a <see cref="Cluster"/>: the <see cref="Fixtures.Workload"/> (its namespace, IPv4
/// address and <c>cali…</c> veth on <see cref="Host"/>) plus, when dual-stack, an IPv6 address on
/// the same <c>eth0</c>. <see cref="Name"/> is unique in the cluster and is the workload id its
/// endpoint is stored under.
/// </summary>
public sealed record ClusterWorkload(string Name, ClusterHost Host, Workload Workload, IPAddress? Ipv6Address)
{
    public NetNs Namespace => Workload.Namespace;

    public IPAddress Ipv4Address => Workload.Address;

    /// <summary>The host-side veth, e.g. <c>cali2466cece7bc</c>.</summary>
    public string HostInterface => Workload.HostInterface;

    public string Mac => Workload.Mac;

    /// <summary>The workload's address of <paramref name="family"/>; throws when it has none.</summary>
    public IPAddress AddressOf(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => Ipv4Address,
        AddressFamily.InterNetworkV6 => Ipv6Address
            ?? throw new InvalidOperationException($"workload {Name} has no IPv6 address"),
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, "IPv4 or IPv6 only"),
    };

    public bool Has(AddressFamily family) => family == AddressFamily.InterNetwork || Ipv6Address is not null;

    public override string ToString() => $"{Name} ({Ipv4Address} on {Host.Name})";
}
