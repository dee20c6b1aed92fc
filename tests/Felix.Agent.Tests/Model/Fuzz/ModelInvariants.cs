using System.Net;
using System.Net.Sockets;
using Felix.Agent.Model;

namespace Felix.Agent.Tests.Model.Fuzz;

/// <summary>
/// What the rest of the agent may assume about an accepted value, checked independently of the
/// parser's own code: names and ids safe for chain, set and interface names, single-address
/// endpoint nets, and rules whose matches all make sense together.
/// </summary>
internal static class ModelInvariants
{
    public static void CheckReason(string reason, string context)
    {
        Assert.False(string.IsNullOrEmpty(reason), context);
        Assert.True(reason.Length <= 300, $"reason of {reason.Length} characters ({context}): {reason}");
        Assert.True(reason.All(c => c is >= ' ' and <= '~'), $"reason is not printable ASCII ({context}): {reason}");
    }

    public static void Check(DatastoreKey key, DatastoreValue value, ModelOptions options, string context)
    {
        switch (value)
        {
            case ReadyFlag:
                Assert.IsType<ReadyKey>(key);
                break;
            case ConfigValue:
                Assert.True(key is GlobalConfigKey or HostConfigKey, context);
                break;
            case HostIp ip:
                Assert.Equal(AddressFamily.InterNetwork, ip.Address.AddressFamily);
                break;
            case WorkloadEndpoint endpoint:
                CheckEndpoint(endpoint, options, context);
                break;
            case ProfileRules rules:
                Assert.All(rules.Inbound.Concat(rules.Outbound), rule => CheckRule(rule, context));
                break;
            case ProfileTags tags:
                Assert.All(tags.Tags, tag => AssertId(tag, context));
                break;
            case IpPool pool:
                Assert.Equal(((IpPoolKey)key).Cidr, pool.Cidr);
                break;
            default:
                Assert.Fail($"unexpected value type {value.GetType().Name} ({context})");
                break;
        }
    }

    private static void CheckEndpoint(WorkloadEndpoint endpoint, ModelOptions options, string context)
    {
        Assert.StartsWith(options.InterfacePrefix, endpoint.Name, StringComparison.Ordinal);
        Assert.InRange(endpoint.Name.Length, options.InterfacePrefix.Length + 1, 15);
        Assert.True(endpoint.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'), context);
        Assert.True(endpoint.Mac is null || (endpoint.Mac.Length == 17 && !endpoint.Mac.Any(char.IsAsciiLetterUpper)), context);
        Assert.All(endpoint.ProfileIds, id => AssertId(id, context));
        Assert.All(endpoint.Ipv4Nets, net => AssertHost(net, AddressFamily.InterNetwork, 32, context));
        Assert.All(endpoint.Ipv6Nets, net => AssertHost(net, AddressFamily.InterNetworkV6, 128, context));
        Assert.True(endpoint.Ipv4Gateway is null || endpoint.Ipv4Gateway.AddressFamily == AddressFamily.InterNetwork, context);
        Assert.True(endpoint.Ipv6Gateway is null || endpoint.Ipv6Gateway.AddressFamily == AddressFamily.InterNetworkV6, context);
        Assert.True(endpoint.Ipv6Gateway is null || endpoint.Ipv6Gateway.ScopeId == 0, context);
    }

    private static void CheckRule(Rule rule, string context)
    {
        Assert.True(rule.AppliesTo(IpVersion.V4) || rule.AppliesTo(IpVersion.V6), $"rule applies to no family ({context})");
        var hasPorts = rule.Match.Protocol is { Number: 6 or 17 or 132 or 136 };
        var isIcmp = rule.Match.Protocol is { Number: 1 or 58 };
        foreach (var match in new[] { rule.Match, rule.NotMatch })
        {
            Assert.True(hasPorts || (match.SrcPorts.Count == 0 && match.DstPorts.Count == 0), $"ports without a port protocol ({context})");
            Assert.True(isIcmp || (match.IcmpType is null && match.IcmpCode is null), $"ICMP match without ICMP ({context})");
            Assert.True(match.IcmpCode is null || match.IcmpType is not null, $"ICMP code without type ({context})");
            Assert.True(match.IcmpType is null or < 255, context);
            Assert.True(match.Protocol is null || match.Protocol.Value.Number > 0, context);
            Assert.All(match.SrcPorts.Concat(match.DstPorts), range => Assert.True(range.First <= range.Last, context));
            foreach (var tag in new[] { match.SrcTag, match.DstTag })
            {
                if (tag is not null)
                {
                    AssertId(tag, context);
                }
            }
        }
        Assert.True(rule.LogPrefix is null || rule.Action == RuleAction.Log, context);
        Assert.True(rule.LogPrefix is null || (rule.LogPrefix.Length is >= 1 and <= 29 && rule.LogPrefix.All(c => c is >= ' ' and <= '~' and not ('"' or '\'' or '\\'))), context);
    }

    private static void AssertId(string id, string context)
    {
        Assert.InRange(id.Length, 1, 253);
        Assert.True(id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'), $"bad id {id} ({context})");
    }

    private static void AssertHost(IPNetwork net, AddressFamily family, int length, string context)
    {
        Assert.Equal(family, net.BaseAddress.AddressFamily);
        Assert.True(net.PrefixLength == length, context);
    }
}
