using System.Text.RegularExpressions;

namespace Felix.Dataplane.Routes;

/// <summary>
/// A kernel parameter the agent may set, as a path relative to <c>/proc/sys</c>
/// (<c>net/ipv4/conf/cali1234/proxy_arp</c>). There is no constructor taking a path: one is either
/// a fixed global parameter or a fixed per-interface key joined to an interface name checked by
/// <see cref="IsValidInterfaceName"/>, so no endpoint name can make a path that leaves
/// <c>net/…/&lt;interface&gt;/</c> — or lands on the namespace-wide <c>all</c> and <c>default</c> entries.
/// </summary>
public sealed partial record SysctlPath
{
    /// <summary>The kernel's interface name limit (<c>IFNAMSIZ</c> less the terminating NUL).</summary>
    public const int MaxInterfaceNameLength = 15;

    private SysctlPath(string relative, string? interfaceName)
    {
        Relative = relative;
        Interface = interfaceName;
    }

    /// <summary>The path below <c>/proc/sys</c>, <c>/</c>-separated.</summary>
    public string Relative { get; }

    /// <summary>The interface a per-interface parameter belongs to; null for a global one.</summary>
    public string? Interface { get; }

    /// <summary>IPv4 forwarding on every interface, present and future (writing it sets <c>conf/all</c> and <c>conf/default</c>).</summary>
    public static SysctlPath Ipv4Forward { get; } = new("net/ipv4/ip_forward", null);

    /// <summary>IPv6 forwarding on every interface, present and future.</summary>
    public static SysctlPath Ipv6AllForwarding { get; } = new("net/ipv6/conf/all/forwarding", null);

    /// <summary>The namespace-wide reverse-path filter the kernel combines with each interface's (the larger wins).</summary>
    public static SysctlPath Ipv4AllRpFilter { get; } = new("net/ipv4/conf/all/rp_filter", null);

    /// <summary>
    /// Whether <paramref name="name"/> can be put into a path: 1–15 characters of <c>[A-Za-z0-9_-]</c>
    /// (the workload interface names DESIGN.md §2 allows; no <c>/</c>, <c>.</c> or <c>..</c>) and not
    /// <c>all</c> or <c>default</c>, which are the namespace-wide entries beside the interfaces.
    /// </summary>
    public static bool IsValidInterfaceName(string? name) =>
        name is { Length: > 0 and <= MaxInterfaceNameLength } && InterfacePattern().IsMatch(name) && name is not ("all" or "default");

    /// <exception cref="ArgumentException"><paramref name="interfaceName"/> is not <see cref="IsValidInterfaceName">valid</see>.</exception>
    public static SysctlPath For(string interfaceName, InterfaceSysctl key)
    {
        if (!IsValidInterfaceName(interfaceName))
        {
            throw new ArgumentException($"'{interfaceName}' is not a valid workload interface name", nameof(interfaceName));
        }
        var relative = key switch
        {
            InterfaceSysctl.ProxyArp => $"net/ipv4/conf/{interfaceName}/proxy_arp",
            InterfaceSysctl.RpFilter => $"net/ipv4/conf/{interfaceName}/rp_filter",
            InterfaceSysctl.Ipv4Forwarding => $"net/ipv4/conf/{interfaceName}/forwarding",
            InterfaceSysctl.RouteLocalnet => $"net/ipv4/conf/{interfaceName}/route_localnet",
            InterfaceSysctl.ProxyDelay => $"net/ipv4/neigh/{interfaceName}/proxy_delay",
            InterfaceSysctl.ProxyNdp => $"net/ipv6/conf/{interfaceName}/proxy_ndp",
            InterfaceSysctl.Ipv6Forwarding => $"net/ipv6/conf/{interfaceName}/forwarding",
            InterfaceSysctl.AcceptRa => $"net/ipv6/conf/{interfaceName}/accept_ra",
            _ => throw new ArgumentOutOfRangeException(nameof(key), key, "unknown interface parameter"),
        };
        return new SysctlPath(relative, interfaceName);
    }

    public override string ToString() => Relative;

    [GeneratedRegex(@"^[A-Za-z0-9_-]+\z")]
    private static partial Regex InterfacePattern();
}

/// <summary>The per-interface parameters the agent sets; see <see cref="InterfaceConfigurator"/> for why each.</summary>
public enum InterfaceSysctl
{
    ProxyArp,
    RpFilter,
    Ipv4Forwarding,
    RouteLocalnet,
    ProxyDelay,
    ProxyNdp,
    Ipv6Forwarding,
    AcceptRa,
}
