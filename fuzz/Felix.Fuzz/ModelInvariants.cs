using System.Net;
using System.Net.Sockets;
using Felix.Agent.Model;
using static Felix.Fuzz.FuzzTargets;

namespace Felix.Fuzz;

/// <summary>
/// What the rest of the agent may assume about an accepted value, checked independently of the
/// parser's own code: names and ids safe for chain, set and interface names, single-address
/// endpoint nets, and rules whose matches all make sense together. Shared by the fuzz harness and
/// the model's property tests; a broken invariant throws <see cref="FuzzFindingException"/>.
/// </summary>
public static class ModelInvariants
{
    /// <summary>A rejection's reason goes straight into one log line: short, printable, never empty.</summary>
    public static void CheckReason(string reason)
    {
        Require(!string.IsNullOrEmpty(reason), "empty rejection reason");
        Require(reason.Length <= 300, $"rejection reason of {reason.Length} characters: {reason}");
        Require(reason.All(c => c is >= ' ' and <= '~'), $"rejection reason is not printable ASCII: {reason}");
    }

    public static void Check(DatastoreKey key, DatastoreValue value, ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(options);
        switch (value)
        {
            case ReadyFlag:
                Require(key is ReadyKey, $"a ready flag under {key.Path}");
                break;
            case ConfigValue:
                Require(key is GlobalConfigKey or HostConfigKey, $"a config value under {key.Path}");
                break;
            case HostIp ip:
                Require(key is HostIpKey && ip.Address.AddressFamily == AddressFamily.InterNetwork, $"host IP {ip.Address} under {key.Path}");
                break;
            case WorkloadEndpoint endpoint:
                Require(key is WorkloadEndpointKey, $"an endpoint under {key.Path}");
                CheckEndpoint(endpoint, options);
                break;
            case ProfileRules rules:
                Require(key is ProfileRulesKey, $"rules under {key.Path}");
                foreach (var rule in rules.Inbound.Concat(rules.Outbound))
                {
                    CheckRule(rule);
                }
                break;
            case ProfileTags tags:
                Require(key is ProfileTagsKey, $"tags under {key.Path}");
                foreach (var tag in tags.Tags)
                {
                    CheckId(tag);
                }
                break;
            case IpPool pool:
                Require(key is IpPoolKey poolKey && poolKey.Cidr.Equals(pool.Cidr), $"pool {pool.Cidr} under {key.Path}");
                break;
            default:
                throw new FuzzFindingException($"unexpected value type {value?.GetType().Name ?? "null"} under {key.Path}");
        }
    }

    private static void CheckEndpoint(WorkloadEndpoint endpoint, ModelOptions options)
    {
        var name = endpoint.Name;
        Require(name.StartsWith(options.InterfacePrefix, StringComparison.Ordinal), $"endpoint name {name} without the prefix {options.InterfacePrefix}");
        Require(name.Length > options.InterfacePrefix.Length && name.Length <= 15, $"endpoint name {name} of {name.Length} characters");
        Require(name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'), $"endpoint name {name} is not a safe interface name");
        Require(endpoint.Mac is null || (endpoint.Mac.Length == 17 && !endpoint.Mac.Any(char.IsAsciiLetterUpper)), $"endpoint MAC {endpoint.Mac}");
        foreach (var id in endpoint.ProfileIds)
        {
            CheckId(id);
        }
        foreach (var net in endpoint.Ipv4Nets)
        {
            CheckHost(net, AddressFamily.InterNetwork, 32);
        }
        foreach (var net in endpoint.Ipv6Nets)
        {
            CheckHost(net, AddressFamily.InterNetworkV6, 128);
        }
        Require(endpoint.Ipv4Gateway is null || endpoint.Ipv4Gateway.AddressFamily == AddressFamily.InterNetwork, $"IPv4 gateway {endpoint.Ipv4Gateway}");
        Require(endpoint.Ipv6Gateway is null || (endpoint.Ipv6Gateway.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Ipv6Gateway.ScopeId == 0),
            $"IPv6 gateway {endpoint.Ipv6Gateway}");
    }

    private static void CheckRule(Rule rule)
    {
        Require(rule.AppliesTo(IpVersion.V4) || rule.AppliesTo(IpVersion.V6), $"rule applies to no family: {rule}");
        var hasPorts = rule.Match.Protocol is { Number: 6 or 17 or 132 or 136 };
        var isIcmp = rule.Match.Protocol is { Number: 1 or 58 };
        foreach (var match in new[] { rule.Match, rule.NotMatch })
        {
            Require(hasPorts || (match.SrcPorts.Count == 0 && match.DstPorts.Count == 0), $"ports without a port protocol: {rule}");
            Require(isIcmp || (match.IcmpType is null && match.IcmpCode is null), $"ICMP match without ICMP: {rule}");
            Require(match.IcmpCode is null || match.IcmpType is not null, $"ICMP code without type: {rule}");
            Require(match.IcmpType is null or < 255, $"ICMP type {match.IcmpType}: {rule}");
            Require(match.Protocol is null || match.Protocol.Value.Number > 0, $"protocol 0: {rule}");
            Require(match.SrcPorts.Concat(match.DstPorts).All(range => range.First <= range.Last), $"empty port range: {rule}");
            foreach (var tag in new[] { match.SrcTag, match.DstTag })
            {
                if (tag is not null)
                {
                    CheckId(tag);
                }
            }
        }
        Require(rule.LogPrefix is null || rule.Action == RuleAction.Log, $"log prefix on a rule that does not log: {rule}");
        Require(rule.LogPrefix is null || (rule.LogPrefix.Length is >= 1 and <= 29 && rule.LogPrefix.All(c => c is >= ' ' and <= '~' and not ('"' or '\'' or '\\'))),
            $"log prefix {rule.LogPrefix}");
    }

    private static void CheckId(string id) =>
        Require(id.Length is >= 1 and <= 253 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'), $"bad id {id}");

    private static void CheckHost(IPNetwork net, AddressFamily family, int length) =>
        Require(net.BaseAddress.AddressFamily == family && net.PrefixLength == length, $"endpoint net {net} is not a single {family} address");
}
