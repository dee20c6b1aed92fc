using System.Net;
using Felix.Agent.Calculation;
using Felix.Dataplane.Iptables;

namespace Felix.Agent.Policy;

/// <summary>
/// A local endpoint's two chains, <c>felix-to-&lt;suffix&gt;</c> (traffic to the workload) and
/// <c>felix-from-&lt;suffix&gt;</c> (traffic from it). Both start by clearing the accept mark, jump
/// to each profile's chain in the endpoint's order and return as soon as one set the mark, and end
/// in a DROP naming the endpoint. The from chain first drops what the workload could only send by
/// spoofing: another source MAC, or a source address that is not one of its own.
/// </summary>
internal static class EndpointChains
{
    public static IEnumerable<Chain> Render(EndpointUpdate endpoint, IpVersion version, PolicyConfig config, SharedRules shared)
    {
        var suffix = PolicyNames.EndpointSuffix(endpoint.InterfaceName, config.InterfacePrefix);
        var toName = PolicyNames.EndpointChain(suffix, PolicyDirection.Inbound);
        var fromName = PolicyNames.EndpointChain(suffix, PolicyDirection.Outbound);
        var who = Describe(endpoint);
        if (endpoint.State == Model.EndpointState.Inactive)
        {
            var drop = new IptablesRule(IptablesAction.Drop, IptablesNames.TruncatedComment($"Drop everything: endpoint {who} is inactive"));
            yield return new Chain(toName, [drop]);
            yield return new Chain(fromName, [drop]);
            yield break;
        }
        yield return new Chain(toName, [shared.ClearMark, .. Profiles(endpoint, PolicyDirection.Inbound, shared), FinalDrop(who)]);
        var nets = version == IpVersion.V4 ? endpoint.Ipv4Nets : endpoint.Ipv6Nets;
        yield return nets.Count == 0
            ? new Chain(fromName, [new IptablesRule(IptablesAction.Drop, $"Drop: the endpoint has no IPv{(int)version} address")])
            : new Chain(fromName, [.. AntiSpoof(endpoint, nets, config, shared), .. Profiles(endpoint, PolicyDirection.Outbound, shared), FinalDrop(who)]);
    }

    public static IEnumerable<string> Names(string interfaceName, PolicyConfig config)
    {
        var suffix = PolicyNames.EndpointSuffix(interfaceName, config.InterfacePrefix);
        return [PolicyNames.EndpointChain(suffix, PolicyDirection.Inbound), PolicyNames.EndpointChain(suffix, PolicyDirection.Outbound)];
    }

    private static string Describe(EndpointUpdate endpoint) =>
        $"{endpoint.Key.OrchestratorId}/{endpoint.Key.WorkloadId}/{endpoint.Key.EndpointId}";

    private static IptablesRule FinalDrop(string who) =>
        new(IptablesAction.Drop, IptablesNames.TruncatedComment($"Drop if no profile accepted: endpoint {who}"));

    private static IEnumerable<IptablesRule> Profiles(EndpointUpdate endpoint, PolicyDirection direction, SharedRules shared)
    {
        foreach (var profileId in endpoint.ProfileIds)
        {
            var (jump, returnIfAccepted) = shared.Profile(profileId, direction);
            yield return jump;
            yield return returnIfAccepted;
        }
    }

    /// <summary>
    /// One address: a single negated match. Several: the accept mark doubles as "source is ours"
    /// (set per address, checked, cleared again), since one rule cannot say "none of these".
    /// </summary>
    private static IEnumerable<IptablesRule> AntiSpoof(EndpointUpdate endpoint, Model.EquatableList<IPNetwork> nets, PolicyConfig config, SharedRules shared)
    {
        yield return shared.ClearMark;
        if (endpoint.Mac is { } mac)
        {
            yield return new IptablesRule(MatchCriteria.Any.SourceMac(mac, negated: true), IptablesAction.Drop,
                "Drop if the source MAC is not the endpoint MAC");
        }
        const string spoofed = "Drop if the source is not an endpoint address";
        switch (nets.Count)
        {
            case 1:
                yield return new IptablesRule(MatchCriteria.Any.SourceNet(nets[0], negated: true), IptablesAction.Drop, spoofed);
                break;
            default:
                foreach (var net in nets)
                {
                    yield return new IptablesRule(MatchCriteria.Any.SourceNet(net), new SetMarkAction(config.AcceptMark, config.AcceptMark));
                }
                yield return new IptablesRule(MatchCriteria.Any.Mark(config.AcceptMark, config.AcceptMark, negated: true),
                    IptablesAction.Drop, spoofed);
                yield return shared.ClearMark;
                break;
        }
    }
}
