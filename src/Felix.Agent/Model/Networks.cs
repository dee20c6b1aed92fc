using System.Net;
using System.Net.Sockets;

namespace Felix.Agent.Model;

/// <summary>
/// Strict parsing of addresses and networks. <see cref="IPAddress.TryParse(string, out IPAddress)"/>
/// is too lenient for input that decides what the kernel accepts: it reads <c>"1"</c> as 0.0.0.1
/// and <c>"010.0.0.1"</c> as octal 8.0.0.1, takes brackets, and resolves <c>"%eth0"</c> scope ids
/// through the host's interfaces. Here an IPv4 address is exactly four decimal octets without
/// leading zeros, an IPv6 address uses only hex digits, ':' and '.', and a prefix length is plain
/// decimal.
/// </summary>
internal static class Networks
{
    private const int MaxIpv6TextLength = 45;

    public static IPAddress? ParseAddress(string text) => ParseAddress(text.AsSpan());

    public static IPAddress? ParseAddress(ReadOnlySpan<char> text) => text.Contains(':') ? ParseV6(text) : ParseV4(text);

    /// <summary>
    /// Parses <c>address/prefix</c>, or a bare address as the network of just that address. The
    /// network returned has its host bits cleared; <paramref name="hadHostBits"/> says whether
    /// the text had any, for the callers that must refuse them.
    /// </summary>
    public static bool TryParseNetwork(string text, out IPNetwork network, out bool hadHostBits) =>
        TryParseNetwork(text.AsSpan(), out network, out hadHostBits);

    /// <inheritdoc cref="TryParseNetwork(string, out IPNetwork, out bool)"/>
    public static bool TryParseNetwork(ReadOnlySpan<char> text, out IPNetwork network, out bool hadHostBits)
    {
        network = default;
        hadHostBits = false;
        var slash = text.IndexOf('/');
        var address = ParseAddress(slash < 0 ? text : text[..slash]);
        if (address is null)
        {
            return false;
        }
        var maxPrefix = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var prefix = maxPrefix;
        if (slash >= 0 && !TryParseDecimal(text[(slash + 1)..], 3, out prefix))
        {
            return false;
        }
        if (prefix > maxPrefix)
        {
            return false;
        }
        // A single address (the common case: every endpoint's nets) has no host bits to clear.
        var masked = prefix == maxPrefix ? address : Mask(address, prefix);
        hadHostBits = !masked.Equals(address);
        network = new IPNetwork(masked, prefix);
        return true;
    }

    public static IpVersion FamilyOf(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? IpVersion.V6 : IpVersion.V4;

    public static IpVersion FamilyOf(IPNetwork network) => FamilyOf(network.BaseAddress);

    public static string Name(IpVersion version) => version == IpVersion.V6 ? "IPv6" : "IPv4";

    /// <summary>Decimal digits only, no sign, no leading zero (except "0" itself), at most <paramref name="maxDigits"/>.</summary>
    public static bool TryParseDecimal(ReadOnlySpan<char> text, int maxDigits, out int value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > maxDigits || (text[0] == '0' && text.Length > 1))
        {
            return false;
        }
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
            value = (value * 10) + (c - '0');
        }
        return true;
    }

    private static IPAddress? ParseV4(ReadOnlySpan<char> text)
    {
        Span<byte> octets = stackalloc byte[4];
        var rest = text;
        for (var i = 0; i < 4; i++)
        {
            var dot = rest.IndexOf('.');
            var part = i < 3 ? (dot < 0 ? [] : rest[..dot]) : rest;
            if (!TryParseDecimal(part, 3, out var octet) || octet > 255)
            {
                return null;
            }
            octets[i] = (byte)octet;
            rest = i < 3 ? rest[(dot + 1)..] : [];
        }
        return new IPAddress(octets);
    }

    private static IPAddress? ParseV6(ReadOnlySpan<char> text)
    {
        if (text.Length > MaxIpv6TextLength)
        {
            return null;
        }
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c) && c is not (':' or '.'))
            {
                return null;
            }
        }
        return IPAddress.TryParse(text, out var address)
            && address.AddressFamily == AddressFamily.InterNetworkV6
            && address.ScopeId == 0
                ? address
                : null;
    }

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var bitsKept = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xff << (8 - bitsKept));
        }
        return new IPAddress(bytes);
    }
}
