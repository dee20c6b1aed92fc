using System.Net;
using System.Text.Json;

namespace Felix.Agent.Model;

/// <summary>
/// Readers for the single fields of a rule, each checking its value on its own. How fields must
/// combine (ports need a port protocol, and so on) is <see cref="RulesParser"/>'s concern. Each
/// returns null or a reason that starts with the field's path.
/// </summary>
internal static class RuleFields
{
    /// <summary>
    /// The kernel's LOG prefix buffer is 30 bytes with its terminating NUL, and iptables refuses
    /// longer prefixes, so at most 29 characters.
    /// </summary>
    public const int MaxLogPrefixLength = 29;

    private const string ProtocolsAllowed = "tcp, udp, icmp, icmpv6, sctp, udplite or 1-255";

    public static string? Action(JsonElement element, string at, out RuleAction action)
    {
        action = RuleAction.Allow;
        var error = JsonFields.OptionalString(element, at, out var text);
        (action, var known) = text switch
        {
            null or "allow" => (RuleAction.Allow, true),
            "deny" => (RuleAction.Deny, true),
            "log" => (RuleAction.Log, true),
            _ => (RuleAction.Allow, false),
        };
        return error ?? (known ? null : $"{at}: {Reasons.Show(text!)} is not allow, deny or log");
    }

    public static string? IpVersion(JsonElement element, string at, out IpVersion? version)
    {
        version = null;
        if (JsonFields.IsAbsent(element))
        {
            return null;
        }
        if (element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out var number) && number is 4 or 6)
        {
            version = (IpVersion)number;
            return null;
        }
        return $"{at}: {Reasons.Show(element)} is not 4 or 6";
    }

    /// <summary>
    /// Printable ASCII without quotes or backslashes: the renderer quotes the prefix on an
    /// iptables-restore line, where a quote or backslash would end or change the argument and a
    /// control character would break the line. Spaces are fine inside the quotes.
    /// </summary>
    public static string? LogPrefix(JsonElement element, string at, out string? prefix)
    {
        var error = JsonFields.OptionalString(element, at, out prefix);
        if (error is not null || prefix is null)
        {
            return error;
        }
        if (prefix.Length is 0 or > MaxLogPrefixLength)
        {
            return $"{at}: {Reasons.Show(prefix)} is not 1-{MaxLogPrefixLength} characters long";
        }
        foreach (var c in prefix)
        {
            if (c is < ' ' or > '~' or '"' or '\'' or '\\')
            {
                return $"{at}: {Reasons.Show(prefix)} has a character other than printable ASCII without quotes and backslashes";
            }
        }
        return null;
    }

    /// <summary>A name (case-sensitive, lowercase) or a number 1-255 given as a JSON number.</summary>
    public static string? Protocol(JsonElement element, string at, out Protocol? protocol)
    {
        protocol = null;
        if (JsonFields.IsAbsent(element))
        {
            return null;
        }
        var valid = element.ValueKind switch
        {
            JsonValueKind.String => Model.Protocol.TryFromName(element.GetString()!, out var named) && Set(out protocol, named),
            JsonValueKind.Number => element.TryGetInt32(out var number)
                && Model.Protocol.TryFromNumber(number, out var numbered) && Set(out protocol, numbered),
            _ => false,
        };
        return valid ? null : $"{at}: {Reasons.Show(element)} is not a protocol ({ProtocolsAllowed})";
    }

    public static string? Tag(JsonElement element, string at, out string? tag)
    {
        var error = JsonFields.OptionalString(element, at, out tag);
        if (error is null && tag is not null && Syntax.IdProblem(tag) is { } problem)
        {
            error = $"{at}: {Reasons.Show(tag)} {problem}";
        }
        return error;
    }

    /// <summary>
    /// Either family; host bits are cleared (<c>10.1.2.3/16</c> is <c>10.1.0.0/16</c>), which is
    /// how iptables reads such a net too, so the match covers exactly the addresses written.
    /// </summary>
    public static string? Net(JsonElement element, string at, out IPNetwork? net)
    {
        net = null;
        var error = JsonFields.OptionalString(element, at, out var text);
        if (error is not null || text is null)
        {
            return error;
        }
        if (!Networks.TryParseNetwork(text, out var parsed, out _))
        {
            return $"{at}: {Reasons.Show(text)} is not an IPv4 or IPv6 network";
        }
        net = parsed;
        return null;
    }

    /// <summary>
    /// A non-empty list of ports (numbers) and ranges (<c>"N:M"</c>, N &lt;= M; a lone <c>"N"</c>
    /// is read as a port). An empty list is refused: it could be meant as "any port" or as "no
    /// port", and guessing "any" would widen the rule.
    /// </summary>
    public static string? Ports(JsonElement element, string at, out EquatableList<PortRange> ports)
    {
        ports = [];
        var error = JsonFields.OptionalArray(element, at, out var present);
        if (error is not null || !present)
        {
            return error;
        }
        var found = new List<PortRange>();
        foreach (var item in element.EnumerateArray())
        {
            if (PortOrRange(item) is not { } range)
            {
                return item.ValueKind == JsonValueKind.String
                    ? $"{at}[{found.Count}]: {Reasons.Show(item)} is not a port range (N:M with 0 <= N <= M <= 65535)"
                    : $"{at}[{found.Count}]: {Reasons.Show(item)} is not a port (0-65535)";
            }
            found.Add(range);
        }
        if (found.Count == 0)
        {
            return $"{at}: empty list (leave the field out to match any port)";
        }
        ports = EquatableList.From(found);
        return null;
    }

    /// <summary>
    /// ICMP type 0-254, code 0-255. Type 255 is refused because iptables' icmp match reads it as
    /// "any type": accepting it would turn a type match into no match at all.
    /// </summary>
    public static string? IcmpNumber(JsonElement element, string at, bool isCode, out byte? value)
    {
        value = null;
        if (JsonFields.IsAbsent(element))
        {
            return null;
        }
        var max = isCode ? 255 : 254;
        if (element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out var number) && number >= 0 && number <= max)
        {
            value = (byte)number;
            return null;
        }
        return $"{at}: {Reasons.Show(element)} is not an ICMP {(isCode ? "code (0-255)" : "type (0-254)")}";
    }

    private static PortRange? PortOrRange(JsonElement item)
    {
        if (item.ValueKind == JsonValueKind.Number)
        {
            return item.TryGetInt32(out var port) && port is >= 0 and <= ushort.MaxValue ? new PortRange((ushort)port) : null;
        }
        if (item.ValueKind != JsonValueKind.String)
        {
            return null;
        }
        var text = item.GetString()!.AsSpan();
        var colon = text.IndexOf(':');
        var firstText = colon < 0 ? text : text[..colon];
        var lastText = colon < 0 ? text : text[(colon + 1)..];
        return Networks.TryParseDecimal(firstText, 5, out var first) && first <= ushort.MaxValue
            && Networks.TryParseDecimal(lastText, 5, out var last) && last <= ushort.MaxValue && first <= last
                ? new PortRange((ushort)first, (ushort)last)
                : null;
    }

    private static bool Set<T>(out T? target, T value)
        where T : struct
    {
        target = value;
        return true;
    }
}
