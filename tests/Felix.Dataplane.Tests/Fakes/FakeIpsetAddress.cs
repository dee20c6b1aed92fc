using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// Addresses as the ipset tool reads and prints them. It reads IPv4 the way <c>inet_aton</c> does
/// for digits and dots ("10.1" is 10.0.0.1, "010.0.0.1" is 8.0.0.1) but refuses hex, and prints IPv6
/// with glibc's <c>inet_ntop</c>, which differs from .NET for <c>::ffff:0:1</c> (glibc:
/// <c>::ffff:0.0.0.1</c>). Host names, which the tool would resolve, are not resolved here.
/// An address is a <see cref="UInt128"/> whose low 32 bits hold an IPv4 address.
/// </summary>
internal static class FakeIpsetAddress
{
    public static int HostPrefix(IpVersion family) => family == IpVersion.V4 ? 32 : 128;

    public static string FamilyName(IpVersion family) => family == IpVersion.V4 ? "inet" : "inet6";

    /// <summary>The address, or the tool's "cannot parse" syntax error.</summary>
    public static UInt128 Parse(string text, IpVersion family) =>
        TryParse(text, family, out var address)
            ? address
            : throw IpsetParseError.Syntax($"cannot parse {text}: resolving to {(family == IpVersion.V4 ? "IPv4" : "IPv6")} address failed");

    public static bool TryParse(string text, IpVersion family, out UInt128 address) =>
        family == IpVersion.V4 ? TryParseV4(text, out address) : TryParseV6(text, out address);

    public static UInt128 Mask(int prefix, IpVersion family)
    {
        var bits = HostPrefix(family);
        var all = family == IpVersion.V4 ? (UInt128)uint.MaxValue : UInt128.MaxValue;
        return prefix == 0 ? UInt128.Zero : all & ~((UInt128.One << (bits - prefix)) - UInt128.One);
    }

    public static string Format(UInt128 address, IpVersion family) => family == IpVersion.V4 ? FormatV4((uint)address) : FormatV6(address);

    private static string FormatV4(uint address) =>
        string.Create(CultureInfo.InvariantCulture, $"{address >> 24}.{(address >> 16) & 0xff}.{(address >> 8) & 0xff}.{address & 0xff}");

    /// <summary>glibc's inet_ntop for AF_INET6: the longest run of two or more zero words (the first on a tie) becomes "::".</summary>
    private static string FormatV6(UInt128 address)
    {
        var words = new int[8];
        for (var i = 0; i < 8; i++)
        {
            words[i] = (int)(ushort)(address >> (16 * (7 - i)));
        }
        int bestBase = -1, bestLength = 0, currentBase = -1, currentLength = 0;
        for (var i = 0; i < 8; i++)
        {
            if (words[i] == 0)
            {
                currentBase = currentBase == -1 ? i : currentBase;
                currentLength = currentBase == i ? 1 : currentLength + 1;
                continue;
            }
            if (currentBase != -1 && (bestBase == -1 || currentLength > bestLength))
            {
                (bestBase, bestLength) = (currentBase, currentLength);
            }
            currentBase = -1;
        }
        if (currentBase != -1 && (bestBase == -1 || currentLength > bestLength))
        {
            (bestBase, bestLength) = (currentBase, currentLength);
        }
        if (bestLength < 2)
        {
            bestBase = -1;
        }

        var text = new StringBuilder();
        for (var i = 0; i < 8; i++)
        {
            if (bestBase != -1 && i >= bestBase && i < bestBase + bestLength)
            {
                text.Append(i == bestBase ? ":" : string.Empty);
                continue;
            }
            text.Append(i != 0 ? ":" : string.Empty);
            // An IPv4-compatible or IPv4-mapped address ends in dotted quad, as glibc prints it.
            if (i == 6 && bestBase == 0 && (bestLength == 6 || (bestLength == 5 && words[5] == 0xffff)))
            {
                text.Append(FormatV4((uint)address));
                break;
            }
            text.Append(words[i].ToString("x", CultureInfo.InvariantCulture));
        }
        if (bestBase != -1 && bestBase + bestLength == 8)
        {
            text.Append(':');
        }
        return text.ToString();
    }

    /// <summary>inet_aton's 1-4 part forms, each part decimal or (leading 0) octal, the last part filling the rest.</summary>
    private static bool TryParseV4(string text, out UInt128 address)
    {
        address = UInt128.Zero;
        var parts = text.Split('.');
        if (parts.Length > 4)
        {
            return false;
        }
        var values = new ulong[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!TryParsePart(parts[i], out values[i]))
            {
                return false;
            }
        }
        ulong result = 0;
        for (var i = 0; i < values.Length - 1; i++)
        {
            if (values[i] > 255)
            {
                return false;
            }
            result |= values[i] << (24 - (8 * i));
        }
        var last = values[^1];
        var lastBits = 32 - (8 * (values.Length - 1));
        if (last >= 1UL << lastBits)
        {
            return false;
        }
        address = result | last;
        return true;
    }

    private static bool TryParsePart(string part, out ulong value)
    {
        value = 0;
        if (part.Length == 0 || part.Length > 12 || !part.All(char.IsAsciiDigit))
        {
            return false;
        }
        var octal = part.Length > 1 && part[0] == '0';
        foreach (var c in part)
        {
            if (octal && c > '7')
            {
                return false;
            }
            value = (value * (octal ? 8UL : 10UL)) + (ulong)(c - '0');
        }
        return true;
    }

    private static bool TryParseV6(string text, out UInt128 address)
    {
        address = UInt128.Zero;
        // inet_pton takes hex words, colons and a dotted tail only: no scope ids, brackets or spaces.
        if (!text.Contains(':', StringComparison.Ordinal) || !text.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.')
            || !IPAddress.TryParse(text, out var parsed) || parsed.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }
        var bytes = parsed.GetAddressBytes();
        foreach (var b in bytes)
        {
            address = (address << 8) | b;
        }
        return true;
    }
}
