using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Felix.Dataplane.Routes;

/// <summary>
/// What one local workload's host-side interface should look like: its name, the workload's MAC
/// (for the static neighbour entries; null for none), the workload's addresses of each family and
/// the IPv6 gateway it was given (answered by proxy NDP). Checked when built — a bad value here is
/// a bug in the caller, the model having validated the endpoint — and compared by value, so
/// recording the same interface again is no work.
/// </summary>
public sealed class WorkloadInterface : IEquatable<WorkloadInterface>
{
    public WorkloadInterface(string name, PhysicalAddress? mac, IEnumerable<IPAddress> ipv4Addresses,
        IEnumerable<IPAddress> ipv6Addresses, IPAddress? ipv6Gateway)
    {
        ArgumentNullException.ThrowIfNull(ipv4Addresses);
        ArgumentNullException.ThrowIfNull(ipv6Addresses);
        if (!SysctlPath.IsValidInterfaceName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid workload interface name", nameof(name));
        }
        // A neighbour entry maps to an Ethernet address: veths are Ethernet.
        if (mac is not null && mac.GetAddressBytes().Length != 6)
        {
            throw new ArgumentException($"{name}: MAC {mac} is not a 6-byte Ethernet address", nameof(mac));
        }
        Name = name;
        Mac = mac;
        Ipv4Addresses = Checked(name, ipv4Addresses, AddressFamily.InterNetwork, nameof(ipv4Addresses));
        Ipv6Addresses = Checked(name, ipv6Addresses, AddressFamily.InterNetworkV6, nameof(ipv6Addresses));
        if (ipv6Gateway is not null && (ipv6Gateway.AddressFamily != AddressFamily.InterNetworkV6 || IsUnusable(ipv6Gateway)))
        {
            throw new ArgumentException($"{name}: {ipv6Gateway} is not a usable IPv6 gateway", nameof(ipv6Gateway));
        }
        Ipv6Gateway = ipv6Gateway;
    }

    public string Name { get; }

    public PhysicalAddress? Mac { get; }

    public IReadOnlyList<IPAddress> Ipv4Addresses { get; }

    public IReadOnlyList<IPAddress> Ipv6Addresses { get; }

    public IPAddress? Ipv6Gateway { get; }

    public bool Equals(WorkloadInterface? other) =>
        other is not null
        && Name == other.Name
        && Equals(Mac, other.Mac)
        && Ipv4Addresses.SequenceEqual(other.Ipv4Addresses)
        && Ipv6Addresses.SequenceEqual(other.Ipv6Addresses)
        && Equals(Ipv6Gateway, other.Ipv6Gateway);

    public override bool Equals(object? obj) => Equals(obj as WorkloadInterface);

    public override int GetHashCode() => HashCode.Combine(Name, Mac, Ipv4Addresses.Count, Ipv6Addresses.Count, Ipv6Gateway);

    public override string ToString() =>
        $"{Name} mac={Mac?.ToString() ?? "none"} v4=[{string.Join(',', Ipv4Addresses)}] v6=[{string.Join(',', Ipv6Addresses)}] gw6={Ipv6Gateway?.ToString() ?? "none"}";

    /// <summary>Distinct, in a fixed order, so the same addresses in another order are the same interface.</summary>
    private static IPAddress[] Checked(string name, IEnumerable<IPAddress> addresses, AddressFamily family, string parameter)
    {
        var result = addresses.Distinct().Order(AddressOrder.Instance).ToArray();
        foreach (var address in result)
        {
            ArgumentNullException.ThrowIfNull(address, parameter);
            if (address.AddressFamily != family || IsUnusable(address))
            {
                throw new ArgumentException($"{name}: {address} is not a usable {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} workload address", parameter);
            }
        }
        return result;
    }

    /// <summary>Addresses a neighbour entry must never be made for: the unspecified, multicast and broadcast addresses, and IPv4-mapped IPv6.</summary>
    private static bool IsUnusable(IPAddress address) =>
        address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast)
        || address.IsIPv6Multicast || address.IsIPv4MappedToIPv6
        || (address.AddressFamily == AddressFamily.InterNetwork && (address.GetAddressBytes()[0] & 0xf0) == 0xe0);

    private sealed class AddressOrder : IComparer<IPAddress>
    {
        public static readonly AddressOrder Instance = new();

        public int Compare(IPAddress? x, IPAddress? y)
        {
            if (x is null || y is null)
            {
                return x is null ? (y is null ? 0 : -1) : 1;
            }
            Span<byte> a = stackalloc byte[16];
            Span<byte> b = stackalloc byte[16];
            x.TryWriteBytes(a, out var lengthA);
            y.TryWriteBytes(b, out var lengthB);
            var byBytes = a[..lengthA].SequenceCompareTo(b[..lengthB]);
            return byBytes != 0 ? byBytes : x.ScopeId.CompareTo(y.ScopeId);
        }
    }
}
