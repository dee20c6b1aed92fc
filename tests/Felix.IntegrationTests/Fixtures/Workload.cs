using System.Net;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// A fake container as Calico's CNI plugin would leave it: its own namespace whose <c>eth0</c> holds
/// <see cref="Address"/>, wired by a veth to <see cref="HostInterface"/> (<c>cali…</c>) in the host
/// namespace. This is what the agent's workload endpoint objects describe.
/// </summary>
/// <param name="Host">The namespace playing the host, where the <c>cali…</c> side lives.</param>
/// <param name="Namespace">The workload's own namespace.</param>
/// <param name="HostInterface">The host-side veth name, e.g. <c>cali2466cece7bc</c>.</param>
/// <param name="Address">The workload's IP (a /32 or /128 on its eth0).</param>
/// <param name="Mac">The MAC address of the workload's eth0, as an endpoint's <c>mac</c> field holds it.</param>
public sealed record Workload(NetNs Host, NetNs Namespace, string HostInterface, IPAddress Address, string Mac)
{
    /// <summary>The interface name inside the workload namespace.</summary>
    public const string InterfaceName = "eth0";

    /// <summary>The prefix length of the workload's address: 32 for IPv4, 128 for IPv6.</summary>
    public int PrefixLength => Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 128 : 32;

    /// <summary>The workload's address in CIDR form, as an endpoint's <c>ipv4_nets</c>/<c>ipv6_nets</c> holds it.</summary>
    public string Cidr => $"{Address}/{PrefixLength}";
}
