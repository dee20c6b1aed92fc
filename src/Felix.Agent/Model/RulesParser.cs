using System.Net;
using System.Text.Json;

namespace Felix.Agent.Model;

/// <summary>
/// Profile rules values: <c>{"inbound_rules":[…],"outbound_rules":[…]}</c>. One bad rule makes
/// the whole value invalid, never just that rule: dropping a deny rule, or a match from an allow
/// rule, would let through traffic the profile forbids, whereas an invalid profile is treated as
/// absent and its chains drop everything. The same goes for unknown rule keys, which may be
/// matches this agent does not understand.
/// </summary>
internal static class RulesParser
{
    private static readonly string[] ProfileFields = ["inbound_rules", "outbound_rules"];

    private static readonly string[] MatchFields =
        ["protocol", "src_tag", "dst_tag", "src_net", "dst_net", "src_ports", "dst_ports", "icmp_type", "icmp_code"];

    private const int FirstMatch = 3;

    private static readonly string[] RuleFieldNames =
        ["action", "ip_version", "log_prefix", .. MatchFields, .. MatchFields.Select(name => "!" + name)];

    public static ValueParseResult Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return new InvalidValue($"expected a rules object, got {Reasons.TypeOf(root)}");
        }
        var f = new JsonElement[ProfileFields.Length];
        IReadOnlyList<Rule> inbound = [], outbound = [];
        var error = JsonFields.Collect(root, "", ProfileFields, f, refuseUnknown: false)
            ?? ReadList(f[0], "inbound_rules", out inbound)
            ?? ReadList(f[1], "outbound_rules", out outbound);
        return error is null ? new ValidValue(new ProfileRules(inbound, outbound)) : new InvalidValue(error);
    }

    private static string? ReadList(JsonElement element, string path, out IReadOnlyList<Rule> rules)
    {
        rules = [];
        var error = JsonFields.OptionalArray(element, path, out var present);
        if (error is not null || !present)
        {
            return error;
        }
        var found = new List<Rule>();
        foreach (var item in element.EnumerateArray())
        {
            var at = $"{path}[{found.Count}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                return $"{at}: expected a rule object, got {Reasons.TypeOf(item)}";
            }
            if (ReadRule(item, at, out var rule) is { } ruleError)
            {
                return ruleError;
            }
            found.Add(rule);
        }
        rules = EquatableList.From(found);
        return null;
    }

    private static string? ReadRule(JsonElement item, string at, out Rule rule)
    {
        rule = new Rule();
        var f = new JsonElement[RuleFieldNames.Length];
        var (action, version, prefix) = (RuleAction.Allow, (IpVersion?)null, (string?)null);
        var (match, notMatch) = (RuleMatch.Any, RuleMatch.Any);
        var error = JsonFields.Collect(item, at, RuleFieldNames, f, refuseUnknown: true)
            ?? RuleFields.Action(f[0], Field(at, 0), out action)
            ?? RuleFields.IpVersion(f[1], Field(at, 1), out version)
            ?? RuleFields.LogPrefix(f[2], Field(at, 2), out prefix)
            ?? ReadMatch(f.AsSpan(FirstMatch, MatchFields.Length), at, FirstMatch, out match)
            ?? ReadMatch(f.AsSpan(FirstMatch + MatchFields.Length), at, FirstMatch + MatchFields.Length, out notMatch);
        if (error is not null)
        {
            return error;
        }
        rule = new Rule { Action = action, IpVersion = version, LogPrefix = prefix, Match = match, NotMatch = notMatch };
        return CheckFamilies(rule, at) ?? CheckCombinations(rule, at);
    }

    private static string? ReadMatch(ReadOnlySpan<JsonElement> f, string at, int first, out RuleMatch match)
    {
        match = RuleMatch.Any;
        var (protocol, srcTag, dstTag) = ((Protocol?)null, (string?)null, (string?)null);
        var (srcNet, dstNet, srcPorts, dstPorts) = ((IPNetwork?)null, (IPNetwork?)null, match.SrcPorts, match.DstPorts);
        var (icmpType, icmpCode) = ((byte?)null, (byte?)null);
        var error = RuleFields.Protocol(f[0], Field(at, first), out protocol)
            ?? RuleFields.Tag(f[1], Field(at, first + 1), out srcTag)
            ?? RuleFields.Tag(f[2], Field(at, first + 2), out dstTag)
            ?? RuleFields.Net(f[3], Field(at, first + 3), out srcNet)
            ?? RuleFields.Net(f[4], Field(at, first + 4), out dstNet)
            ?? RuleFields.Ports(f[5], Field(at, first + 5), out srcPorts)
            ?? RuleFields.Ports(f[6], Field(at, first + 6), out dstPorts)
            ?? RuleFields.IcmpNumber(f[7], Field(at, first + 7), isCode: false, out icmpType)
            ?? RuleFields.IcmpNumber(f[8], Field(at, first + 8), isCode: true, out icmpCode);
        match = new RuleMatch
        {
            Protocol = protocol,
            SrcTag = srcTag,
            DstTag = dstTag,
            SrcNet = srcNet,
            DstNet = dstNet,
            SrcPorts = srcPorts,
            DstPorts = dstPorts,
            IcmpType = icmpType,
            IcmpCode = icmpCode,
        };
        return error;
    }

    /// <summary>
    /// Every family a rule states (ip_version, each net, icmp/icmpv6) must be the same one: a rule
    /// that names two could never match, and the renderer must not be left to pick one.
    /// </summary>
    private static string? CheckFamilies(Rule rule, string at)
    {
        var (family, source) = rule.IpVersion is { } explicitVersion
            ? (explicitVersion, $"ip_version {(int)explicitVersion}")
            : ((IpVersion?)null, "");
        ReadOnlySpan<(string Name, IpVersion? Family, string Shown)> stated =
        [
            ("protocol", rule.Match.Protocol?.Family, $"{rule.Match.Protocol}"),
            ("src_net", FamilyOf(rule.Match.SrcNet), $"{rule.Match.SrcNet}"),
            ("dst_net", FamilyOf(rule.Match.DstNet), $"{rule.Match.DstNet}"),
            ("!src_net", FamilyOf(rule.NotMatch.SrcNet), $"{rule.NotMatch.SrcNet}"),
            ("!dst_net", FamilyOf(rule.NotMatch.DstNet), $"{rule.NotMatch.DstNet}"),
        ];
        foreach (var (name, statedFamily, shown) in stated)
        {
            if (statedFamily is null)
            {
                continue;
            }
            if (family is null)
            {
                (family, source) = (statedFamily, $"{name} {shown}");
            }
            else if (family != statedFamily)
            {
                return $"{at}.{name}: {shown} is {Networks.Name(statedFamily.Value)}, which contradicts {source}";
            }
        }
        return null;
    }

    private static string? CheckCombinations(Rule rule, string at)
    {
        var protocol = rule.Match.Protocol;
        var withProtocol = protocol is null ? "but no protocol is given" : $"but protocol is {protocol}";
        (string Name, bool Present)[] portFields =
        [
            ("src_ports", rule.Match.SrcPorts.Count > 0),
            ("dst_ports", rule.Match.DstPorts.Count > 0),
            ("!src_ports", rule.NotMatch.SrcPorts.Count > 0),
            ("!dst_ports", rule.NotMatch.DstPorts.Count > 0),
        ];
        foreach (var (name, present) in portFields)
        {
            if (present && protocol is not { HasPorts: true })
            {
                return $"{at}.{name}: ports need protocol tcp, udp, sctp or udplite, {withProtocol}";
            }
        }
        (string Name, bool Present)[] icmpFields =
        [
            ("icmp_type", rule.Match.IcmpType is not null),
            ("icmp_code", rule.Match.IcmpCode is not null),
            ("!icmp_type", rule.NotMatch.IcmpType is not null),
            ("!icmp_code", rule.NotMatch.IcmpCode is not null),
        ];
        foreach (var (name, present) in icmpFields)
        {
            if (present && protocol is not { IsIcmp: true })
            {
                return $"{at}.{name}: needs protocol icmp or icmpv6, {withProtocol}";
            }
        }
        if (rule.Match.IcmpCode is not null && rule.Match.IcmpType is null)
        {
            return $"{at}.icmp_code: needs icmp_type (iptables matches a code only as type/code)";
        }
        if (rule.NotMatch.IcmpCode is not null && rule.NotMatch.IcmpType is null)
        {
            return $"{at}.!icmp_code: needs !icmp_type (iptables matches a code only as type/code)";
        }
        if (rule.LogPrefix is not null && rule.Action != RuleAction.Log)
        {
            return $"{at}.log_prefix: only allowed with action log";
        }
        return null;
    }

    private static string Field(string at, int index) => $"{at}.{RuleFieldNames[index]}";

    private static IpVersion? FamilyOf(IPNetwork? net) => net is { } value ? Networks.FamilyOf(value) : null;
}
