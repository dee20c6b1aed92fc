using Felix.Dataplane.Iptables;

namespace Felix.Agent.Policy;

/// <summary>
/// <c>felix-TO-ENDPOINT</c> / <c>felix-FROM-ENDPOINT</c>: send a packet to the chain of the endpoint
/// whose interface it leaves (enters) by, or drop it when the interface belongs to no endpoint. Up
/// to the threshold that is one rule per endpoint. Above it the chain becomes a tree: interfaces are
/// grouped by the next character of their name, each group of several gets a branch chain reached
/// by a wildcard (<c>-o cali2+</c>), and each branch splits again while it is still too big, so a
/// packet walks O(log n) rules rather than n. Every chain in the tree ends in DROP: a branch is
/// entered by goto, and falling off its end would return straight to <c>felix-FORWARD</c>, which
/// accepts.
/// </summary>
internal static class DispatchChains
{
    public static IEnumerable<Chain> Render(IReadOnlyCollection<string> interfaceNames, PolicyDirection direction, PolicyConfig config)
    {
        var sorted = interfaceNames.Order(StringComparer.Ordinal).ToList();
        var chains = new List<Chain>();
        Build(PolicyNames.DispatchChain(direction), config.InterfacePrefix, sorted, direction, config, chains);
        return chains;
    }

    private static void Build(string chainName, string namePrefix, List<string> interfaces,
        PolicyDirection direction, PolicyConfig config, List<Chain> chains)
    {
        var rules = new List<IptablesRule>();
        if (interfaces.Count <= config.DispatchTreeThreshold)
        {
            rules.AddRange(interfaces.Select(name => ToEndpoint(name, direction, config)));
        }
        else
        {
            var depth = namePrefix.Length;
            // An interface named exactly like the branch (cali1 among cali10, cali11, …) has no next character.
            rules.AddRange(interfaces.Where(n => n.Length == depth).Select(name => ToEndpoint(name, direction, config)));
            foreach (var group in interfaces.Where(n => n.Length > depth).GroupBy(n => n[depth]))
            {
                var members = group.ToList();
                if (members.Count == 1)
                {
                    rules.Add(ToEndpoint(members[0], direction, config));
                    continue;
                }
                var branchPrefix = namePrefix + group.Key;
                var branch = PolicyNames.DispatchBranchChain(PolicyNames.EndpointSuffix(branchPrefix, config.InterfacePrefix), direction);
                rules.Add(new IptablesRule(Interface(MatchCriteria.Any, branchPrefix + "+", direction), new GotoAction(branch)));
                Build(branch, branchPrefix, members, direction, config, chains);
            }
        }
        rules.Add(new IptablesRule(IptablesAction.Drop, "Drop: the interface belongs to no local endpoint"));
        chains.Insert(0, new Chain(chainName, rules));
    }

    private static IptablesRule ToEndpoint(string interfaceName, PolicyDirection direction, PolicyConfig config)
    {
        var suffix = PolicyNames.EndpointSuffix(interfaceName, config.InterfacePrefix);
        return new IptablesRule(Interface(MatchCriteria.Any, interfaceName, direction),
            new GotoAction(PolicyNames.EndpointChain(suffix, direction)));
    }

    /// <summary>Traffic to an endpoint leaves by its interface (<c>-o</c>); traffic from it enters by it (<c>-i</c>).</summary>
    private static MatchCriteria Interface(MatchCriteria criteria, string name, PolicyDirection direction) =>
        direction == PolicyDirection.Inbound ? criteria.OutInterface(name) : criteria.InInterface(name);
}
