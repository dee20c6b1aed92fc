using System.Globalization;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// An add/del element as the tool sends it to the kernel: an address with an optional CIDR or range
/// end (the kernel, not the tool, expands those), a port, or a set name for list:set.
/// <see cref="WireSize"/> is its size in the netlink message, which decides how many lines fit in one
/// message of a restore.
/// </summary>
/// <param name="Family">The family the tool parsed the element for, which the kernel checks against the set's.</param>
internal sealed record IpsetElement(IpVersion Family, UInt128 Address, int? Cidr, UInt128? RangeEnd, byte Protocol, ushort Port, string? SetName, int WireSize);

/// <summary>Parses elements the way the tool does for each set type and family (ipset 7.17), with its error texts.</summary>
internal static class FakeIpsetElements
{
    /// <summary>The nested data attribute and the line number every element carries.</summary>
    private const int ElementOverhead = 12;

    private const int CidrSize = 8;
    private const int PortSize = 8;
    private const int ProtocolSize = 8;

    /// <param name="family">The family the tool believes the set has (see <see cref="FakeIpsetRestore"/>); null: the set's.</param>
    public static IpsetElement Parse(FakeIpsetSet set, string text, IpVersion? family = null) => set.Kind switch
    {
        IpsetKind.ListSet => ParseSetName(set.Family, text),
        IpsetKind.HashIpPort => ParseIpPort(family ?? set.Family, text),
        _ => ParseAddress(set.Kind, set.TypeName, family ?? set.Family, text),
    };

    /// <summary>Attribute sizes: a name is NUL-terminated and padded to 4 bytes.</summary>
    public static int NameAttributeSize(string name) => Align(4 + name.Length + 1);

    private static int AddressSize(IpVersion family) => family == IpVersion.V4 ? 12 : 24;

    private static IpsetElement ParseSetName(IpVersion family, string text)
    {
        if (text.Length > 31)
        {
            throw IpsetParseError.NameTooLong(text);
        }
        return new IpsetElement(family, UInt128.Zero, null, null, 0, 0, text, ElementOverhead + NameAttributeSize(text));
    }

    private static IpsetElement ParseAddress(IpsetKind kind, string typeName, IpVersion family, string text)
    {
        if (text.Contains(',', StringComparison.Ordinal))
        {
            throw IpsetParseError.Syntax($"Elem separator in {text}, but settype {typeName} supports none.");
        }
        var address = AddressSize(family);
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash >= 0)
        {
            if (family == IpVersion.V6)
            {
                throw kind == IpsetKind.HashIp
                    ? IpsetParseError.Syntax($"plain IP address must be supplied: {text}")
                    : IpsetParseError.Syntax($"IP address or IP/cidr must be specified: {text}");
            }
            var from = FakeIpsetAddress.Parse(text[..dash], family);
            var to = FakeIpsetAddress.Parse(text[(dash + 1)..], family);
            return new IpsetElement(family, from, null, to, 0, 0, null, ElementOverhead + address + address);
        }
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return new IpsetElement(family, FakeIpsetAddress.Parse(text, family), null, null, 0, 0, null, ElementOverhead + address);
        }
        var cidr = ParseCidr(text[(slash + 1)..], FakeIpsetAddress.HostPrefix(family));
        if (kind == IpsetKind.HashIp && family == IpVersion.V6 && cidr != 128)
        {
            throw IpsetParseError.Syntax($"plain IP address must be supplied: {text}");
        }
        return new IpsetElement(family, FakeIpsetAddress.Parse(text[..slash], family), cidr, null, 0, 0, null, ElementOverhead + address + CidrSize);
    }

    private static IpsetElement ParseIpPort(IpVersion family, string text)
    {
        var comma = text.IndexOf(',', StringComparison.Ordinal);
        if (comma < 0)
        {
            throw IpsetParseError.Syntax($"Second element is missing from {text}.");
        }
        var ip = text[..comma];
        if (ip.Contains('/', StringComparison.Ordinal) || ip.Contains('-', StringComparison.Ordinal))
        {
            throw new IpsetNotModelled($"address ranges in hash:ip,port elements ('{text}')");
        }
        var address = FakeIpsetAddress.Parse(ip, family);
        var portText = text[(comma + 1)..];
        var protocolName = "tcp";
        var colon = portText.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            protocolName = portText[..colon];
            portText = portText[(colon + 1)..];
        }
        if (!IpsetEntry.TryParseProtocol(protocolName, out var protocol))
        {
            throw new IpsetNotModelled($"protocol '{protocolName}' in hash:ip,port elements (only tcp, udp, sctp and udplite)");
        }
        if (portText.Length == 0 || !portText.All(char.IsAsciiDigit))
        {
            throw new IpsetNotModelled($"service names and port ranges in hash:ip,port elements ('{portText}')");
        }
        if (portText.Length > 5 || int.Parse(portText, CultureInfo.InvariantCulture) > ushort.MaxValue)
        {
            // The tool tries the port as a number, then the protocol as a number, and prints both
            // itself, without the restore line number.
            throw new IpsetParseError(
                $"Syntax error: '{portText}' is out of range 0-65535\nSyntax error: '{protocolName}' is invalid as number\ncannot parse '{portText}' as a {protocolName} port",
                withLine: false);
        }
        var port = ushort.Parse(portText, CultureInfo.InvariantCulture);
        return new IpsetElement(family, address, null, null, protocol, port, null, ElementOverhead + AddressSize(family) + PortSize + ProtocolSize);
    }

    private static int ParseCidr(string text, int max)
    {
        if (text.Length == 0 || text.Length > 10 || !text.All(char.IsAsciiDigit))
        {
            throw IpsetParseError.Syntax($"'{text}' is invalid as number");
        }
        var value = long.Parse(text, CultureInfo.InvariantCulture);
        return value <= max ? (int)value : throw IpsetParseError.OutOfRange(text, (ulong)max);
    }

    private static int Align(int size) => (size + 3) & ~3;
}
