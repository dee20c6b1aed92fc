using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Felix.Dataplane.Ipsets;

/// <summary>Members as <c>ipset</c> reads and prints them.</summary>
internal static class IpSetMembers
{
    /// <summary>
    /// Appends an address alone for a host (as the kernel prints even <c>hash:net</c> hosts), else
    /// <c>net/prefix</c>. Formatted into a buffer: <see cref="IPAddress.ToString"/> would keep the
    /// text inside every one of 100k address objects for good.
    /// </summary>
    public static StringBuilder AppendTo(StringBuilder text, IPNetwork member)
    {
        Span<char> buffer = stackalloc char[64];
        member.BaseAddress.TryFormat(buffer, out var written);
        text.Append(buffer[..written]);
        return member.PrefixLength == HostPrefix(member.BaseAddress) ? text : text.Append('/').Append(member.PrefixLength);
    }

    /// <summary>A member of a saved set of <paramref name="family"/>: an address, or a network without host bits.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, IpVersion family, out IPNetwork member)
    {
        member = default;
        var slash = text.IndexOf('/');
        var addressText = slash < 0 ? text : text[..slash];
        // Save prints dotted quads and plain IPv6; a scope or a shorthand such as "10" is not a member we wrote.
        if (addressText.Contains('%') || (family == IpVersion.V4 && addressText.Count('.') != 3)
            || !IPAddress.TryParse(addressText, out var address)
            || (address.AddressFamily == AddressFamily.InterNetworkV6) != (family == IpVersion.V6))
        {
            return false;
        }
        var prefix = HostPrefix(address);
        if (slash >= 0 && (!int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > HostPrefix(address)))
        {
            return false;
        }
        if (IpNetworks.TryCreate(address, prefix) is not { } network)
        {
            return false;
        }
        member = network;
        return true;
    }

    private static int HostPrefix(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
}
