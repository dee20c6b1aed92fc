using System.Net;
using System.Net.Sockets;

namespace Felix.IntegrationTests.Fixtures.EndToEnd;

/// <summary>
/// One "server" of a <see cref="Cluster"/>: a namespace whose <c>eth0</c> sits on the test LAN with
/// <see cref="Address"/>/24 and <see cref="Ipv6Address"/>/64, and whose default routes lead to the
/// LAN. <see cref="Name"/> is the host name the datastore and the agent use for it.
/// </summary>
public sealed record ClusterHost(string Name, int Number, NetNs Namespace, IPAddress Address, IPAddress Ipv6Address)
{
    /// <summary>The uplink interface, as in the article's <c>192.168.0.1 via 192.168.78.21 dev enp0s8</c>.</summary>
    public const string Uplink = "eth0";

    /// <summary>The host's LAN address of <paramref name="family"/>.</summary>
    public IPAddress AddressOf(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => Address,
        AddressFamily.InterNetworkV6 => Ipv6Address,
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, "IPv4 or IPv6 only"),
    };

    /// <summary>
    /// Turns on IPv4 and IPv6 forwarding in this host, which the agent does for itself; for tests
    /// that route traffic through hosts without one.
    /// </summary>
    public Task EnableForwardingAsync() =>
        Namespace.ExecCheckedAsync("sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");

    public override string ToString() => $"{Name} ({Address}, {Namespace.Name})";
}
