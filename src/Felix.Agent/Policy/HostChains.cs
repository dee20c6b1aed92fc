using System.Net;
using System.Net.Sockets;
using Felix.Agent.Hosting.Configuration;
using Felix.Dataplane.Iptables;

namespace Felix.Agent.Policy;

/// <summary>
/// The chains that do not depend on any one endpoint or profile, and the hooks that lead into them:
/// <c>felix-FORWARD</c> (workload traffic through the host), <c>felix-INPUT</c> (workload traffic
/// to the host), <c>felix-OUTPUT</c> (host traffic to workloads) and, in nat,
/// <c>felix-POSTROUTING</c> (NAT-outgoing for masquerade pools).
/// </summary>
internal static class HostChains
{
    public static IReadOnlyList<Hook> Hooks(TableName table) => table switch
    {
        TableName.Filter =>
        [
            new Hook("FORWARD", new IptablesRule(new JumpAction(PolicyNames.ForwardChain))),
            new Hook("INPUT", new IptablesRule(new JumpAction(PolicyNames.InputChain))),
            new Hook("OUTPUT", new IptablesRule(new JumpAction(PolicyNames.OutputChain))),
        ],
        TableName.Nat => [new Hook("POSTROUTING", new IptablesRule(new JumpAction(PolicyNames.PostroutingChain)))],
        _ => throw new ArgumentOutOfRangeException(nameof(table), table, null),
    };

    public static IEnumerable<Chain> Filter(IpVersion version, PolicyConfig config)
    {
        yield return Forward(config);
        yield return Input(version, config);
        yield return Output(config);
    }

    /// <summary>
    /// Workload ↔ anything through the host: the endpoint chains decide, then accept. It fails
    /// closed: each side starts with the accept mark clear and is dropped unless its endpoint
    /// chain set it, so an endpoint chain that returns without judging (flushed by hand, or
    /// half-written) drops the traffic rather than letting it reach the final accepts.
    /// </summary>
    private static Chain Forward(PolicyConfig config)
    {
        var workloads = config.InterfaceWildcard;
        var fromWorkload = MatchCriteria.Any.InInterface(workloads);
        var toWorkload = MatchCriteria.Any.OutInterface(workloads);
        var clearMark = new SetMarkAction(0, config.AcceptMark);
        return new Chain(PolicyNames.ForwardChain,
        [
            new(fromWorkload.Conntrack(ConntrackStates.Invalid), IptablesAction.Drop),
            new(toWorkload.Conntrack(ConntrackStates.Invalid), IptablesAction.Drop),
            new(fromWorkload.Conntrack(ConntrackStates.Related | ConntrackStates.Established), IptablesAction.Accept),
            new(toWorkload.Conntrack(ConntrackStates.Related | ConntrackStates.Established), IptablesAction.Accept),
            new(fromWorkload, clearMark),
            new(fromWorkload, new JumpAction(PolicyNames.FromEndpointDispatch), "Outbound policy of the sending endpoint"),
            new(MatchCriteria.Any.InInterface(workloads).Mark(config.AcceptMark, config.AcceptMark, negated: true), IptablesAction.Drop,
                "Drop if no outbound policy accepted"),
            new(toWorkload, clearMark),
            new(toWorkload, new JumpAction(PolicyNames.ToEndpointDispatch), "Inbound policy of the receiving endpoint"),
            new(MatchCriteria.Any.OutInterface(workloads).Mark(config.AcceptMark, config.AcceptMark, negated: true), IptablesAction.Drop,
                "Drop if no inbound policy accepted"),
            new(fromWorkload, IptablesAction.Accept, "Accepted by the policies of both endpoints"),
            new(toWorkload, IptablesAction.Accept, "Accepted by the receiving endpoint policy"),
        ]);
    }

    /// <summary>
    /// Workload → host. What a workload needs from its host to work at all (DHCP, DNS, the
    /// metadata server, IPv6 neighbour discovery) is allowed first; the rest is dropped, accepted
    /// after the endpoint's outbound policy, or handed back to the host's INPUT rules after it.
    /// </summary>
    private static Chain Input(IpVersion version, PolicyConfig config)
    {
        var fromWorkload = MatchCriteria.Any.InInterface(config.InterfaceWildcard);
        var rules = new List<IptablesRule>
        {
            new(fromWorkload.Conntrack(ConntrackStates.Invalid), IptablesAction.Drop),
            new(fromWorkload.Conntrack(ConntrackStates.Related | ConntrackStates.Established), IptablesAction.Accept),
        };
        if (version == IpVersion.V4)
        {
            rules.Add(new(fromWorkload.Protocol("udp").SourcePorts([new(68)]).DestPorts([new(67)]), IptablesAction.Accept, "DHCP"));
        }
        else
        {
            rules.Add(new(fromWorkload.Protocol("udp").SourcePorts([new(546)]).DestPorts([new(547)]), IptablesAction.Accept, "DHCPv6"));
            foreach (var (type, what) in new (byte, string)[] { (133, "router solicitation"), (135, "neighbour solicitation"), (136, "neighbour advertisement") })
            {
                rules.Add(new(fromWorkload.Protocol("icmpv6").IcmpType(IpVersion.V6, type, null), IptablesAction.Accept, $"ICMPv6 {what}"));
            }
        }
        rules.Add(new(fromWorkload.Protocol("udp").DestPorts([new(53)]), IptablesAction.Accept, "DNS"));
        if (config.MetadataAddress is { } metadata && FamilyOf(metadata) == version)
        {
            rules.Add(new(
                fromWorkload.Protocol("tcp").DestNet(new IPNetwork(metadata, version == IpVersion.V4 ? 32 : 128))
                    .DestPorts([new((ushort)config.MetadataPort)]),
                IptablesAction.Accept, "Metadata server"));
        }
        switch (config.EndpointToHostAction)
        {
            case EndpointToHostAction.Drop:
                rules.Add(new(fromWorkload, IptablesAction.Drop, "DefaultEndpointToHostAction DROP"));
                break;
            case EndpointToHostAction.Accept:
                rules.Add(new(fromWorkload, new JumpAction(PolicyNames.FromEndpointDispatch), "Outbound policy of the sending endpoint"));
                rules.Add(new(fromWorkload, IptablesAction.Accept, "DefaultEndpointToHostAction ACCEPT"));
                break;
            case EndpointToHostAction.Return:
                rules.Add(new(fromWorkload, new JumpAction(PolicyNames.FromEndpointDispatch), "Outbound policy of the sending endpoint"));
                rules.Add(new(fromWorkload, IptablesAction.Return, "DefaultEndpointToHostAction RETURN: host INPUT rules decide"));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(config), config.EndpointToHostAction, "unknown endpoint-to-host action");
        }
        return new Chain(PolicyNames.InputChain, rules);
    }

    /// <summary>
    /// Host → workload. New connections are left to the host's own OUTPUT rules, as the original
    /// agent left them: a workload's inbound policy governs forwarded traffic, and the host must
    /// stay able to reach its workloads (health checks). Only packets conntrack cannot place go.
    /// </summary>
    private static Chain Output(PolicyConfig config) =>
        new(PolicyNames.OutputChain,
        [
            new(MatchCriteria.Any.OutInterface(config.InterfaceWildcard).Conntrack(ConntrackStates.Invalid), IptablesAction.Drop),
        ]);

    /// <summary>NAT-outgoing: masquerade what leaves a masquerade pool for anywhere outside every pool.</summary>
    public static Chain Postrouting(IpVersion version, bool anyMasqueradePool)
    {
        IptablesRule[] rules = anyMasqueradePool
            ?
            [
                new(MatchCriteria.Any
                        .IpSet(PolicyNames.MasqueradePoolsSet(version), SetDirection.Source)
                        .IpSet(PolicyNames.AllPoolsSet(version), SetDirection.Destination, negated: true),
                    IptablesAction.Masquerade, "NAT-outgoing from masquerade pools"),
            ]
            : [];
        return new Chain(PolicyNames.PostroutingChain, rules);
    }

    private static IpVersion FamilyOf(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetwork ? IpVersion.V4 : IpVersion.V6;
}
