using Felix.Dataplane.Iptables;

namespace Felix.Agent.Policy;

/// <summary>
/// Design: <c>felix-TO-ENDPOINT</c> / <c>felix-FROM-ENDPOINT</c> send a packet to the chain of the
/// endpoint whose interface it leaves (enters) by, or drop it when the interface belongs to no
/// endpoint. Up to the threshold that is one rule per endpoint. Above it a chain becomes a node of
/// a tree: its interfaces are grouped by the next character of their name, each group of several
/// gets a branch chain reached by a wildcard on the group's common prefix (<c>-o cali2+</c>), and each branch splits again while
/// it is still too big, so a packet walks O(log n) rules rather than n. Every chain in the tree ends
/// in DROP: a branch is entered by goto, and falling off its end would return straight to
/// <c>felix-FORWARD</c>, which accepts.
///
/// The tree is a function of the set of interface names, and one name coming or going changes only
/// the chains on that name's path from the root (and creates or drops whole branches only there),
/// so this class keeps the names sorted and the chains it built, and re-renders just that path.
/// </summary>
internal sealed class DispatchChains
{
    /// <summary>Above this many changed names one full rebuild is cheaper than a walk per name.</summary>
    private const int MaxIncrementalNames = 32;

    private static readonly PolicyDirection[] Directions = [PolicyDirection.Inbound, PolicyDirection.Outbound];

    private readonly PolicyConfig _config;
    private readonly List<string> _names = [];
    private readonly HashSet<string> _changed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Chain> _chains = new(StringComparer.Ordinal);
    private bool _built;

    public DispatchChains(PolicyConfig config)
    {
        _config = config;
    }

    public IReadOnlyCollection<string> InterfaceNames => _names;

    public void Add(string interfaceName)
    {
        var index = _names.BinarySearch(interfaceName, StringComparer.Ordinal);
        if (index < 0)
        {
            _names.Insert(~index, interfaceName);
            _changed.Add(interfaceName);
        }
    }

    public void Remove(string interfaceName)
    {
        var index = _names.BinarySearch(interfaceName, StringComparer.Ordinal);
        if (index >= 0)
        {
            _names.RemoveAt(index);
            _changed.Add(interfaceName);
        }
    }

    /// <summary>Re-renders what the names added and removed since the last call affect.</summary>
    /// <param name="set">Receives every chain rendered (changed or not: the caller compares).</param>
    /// <param name="remove">Receives the names of chains the tree no longer has.</param>
    public void Render(Action<Chain> set, Action<string> remove)
    {
        if (!_built || _changed.Count > MaxIncrementalNames)
        {
            RebuildAll(set, remove);
        }
        else
        {
            foreach (var name in _changed)
            {
                foreach (var direction in Directions)
                {
                    Walk(PolicyNames.DispatchChain(direction), _config.InterfacePrefix, name, direction, set, remove);
                }
            }
        }
        _changed.Clear();
        _built = true;
    }

    private void RebuildAll(Action<Chain> set, Action<string> remove)
    {
        var old = _chains.Keys.ToHashSet(StringComparer.Ordinal);
        _chains.Clear();
        foreach (var direction in Directions)
        {
            Build(PolicyNames.DispatchChain(direction), _config.InterfacePrefix, direction, set);
        }
        foreach (var name in old.Where(n => !_chains.ContainsKey(n)))
        {
            remove(name);
        }
    }

    private void Build(string chainName, string namePrefix, PolicyDirection direction, Action<Chain> set)
    {
        var (chain, branches) = RenderNode(chainName, namePrefix, direction);
        Keep(chain, set);
        foreach (var (branch, branchPrefix) in branches)
        {
            Build(branch, branchPrefix, direction, set);
        }
    }

    /// <summary>Re-renders the node at <paramref name="namePrefix"/> and, below it, only the branch holding <paramref name="changed"/>.</summary>
    private void Walk(string chainName, string namePrefix, string changed, PolicyDirection direction,
        Action<Chain> set, Action<string> remove)
    {
        var oldBranches = _chains.TryGetValue(chainName, out var old) ? BranchesOf(old, direction) : [];
        var (chain, branches) = RenderNode(chainName, namePrefix, direction);
        Keep(chain, set);
        foreach (var gone in oldBranches.Where(b => !branches.Any(n => n.Chain == b)))
        {
            RemoveSubtree(gone, direction, remove);
        }
        foreach (var (branch, branchPrefix) in branches)
        {
            if (!oldBranches.Contains(branch))
            {
                Build(branch, branchPrefix, direction, set);
            }
            else if (changed.StartsWith(branchPrefix, StringComparison.Ordinal))
            {
                Walk(branch, branchPrefix, changed, direction, set, remove);
            }
        }
    }

    private void RemoveSubtree(string chainName, PolicyDirection direction, Action<string> remove)
    {
        if (_chains.Remove(chainName, out var chain))
        {
            foreach (var branch in BranchesOf(chain, direction))
            {
                RemoveSubtree(branch, direction, remove);
            }
            remove(chainName);
        }
    }

    private void Keep(Chain chain, Action<Chain> set)
    {
        _chains[chain.Name] = chain;
        set(chain);
    }

    private static List<string> BranchesOf(Chain chain, PolicyDirection direction)
    {
        var branchPrefix = PolicyNames.DispatchBranchChain(string.Empty, direction);
        return [.. chain.TargetChains.Where(t => t.StartsWith(branchPrefix, StringComparison.Ordinal))];
    }

    /// <summary>One chain of the tree: the interfaces whose names start with <paramref name="namePrefix"/>.</summary>
    private (Chain Chain, List<(string Chain, string NamePrefix)> Branches) RenderNode(
        string chainName, string namePrefix, PolicyDirection direction)
    {
        var (start, count) = Range(namePrefix);
        var rules = new List<IptablesRule>();
        var branches = new List<(string, string)>();
        if (count <= _config.DispatchTreeThreshold)
        {
            for (var i = start; i < start + count; i++)
            {
                rules.Add(ToEndpoint(_names[i], direction));
            }
        }
        else
        {
            var depth = namePrefix.Length;
            var i = start;
            // An interface named exactly like the branch (cali1 among cali10, cali11, …) has no next character; it sorts first.
            for (; i < start + count && _names[i].Length == depth; i++)
            {
                rules.Add(ToEndpoint(_names[i], direction));
            }
            while (i < start + count)
            {
                var next = _names[i][depth];
                var groupEnd = i;
                while (groupEnd < start + count && _names[groupEnd][depth] == next)
                {
                    groupEnd++;
                }
                if (groupEnd - i == 1)
                {
                    rules.Add(ToEndpoint(_names[i], direction));
                }
                else
                {
                    // The group's whole common prefix, not just one more character: names that share
                    // a long prefix (cali0000000001, cali0000000002, …) then take one branch, not one per character.
                    var branchPrefix = CommonPrefix(_names[i], _names[groupEnd - 1]);
                    var branch = PolicyNames.DispatchBranchChain(PolicyNames.EndpointSuffix(branchPrefix, _config.InterfacePrefix), direction);
                    rules.Add(new IptablesRule(Interface(branchPrefix + "+", direction), new GotoAction(branch)));
                    branches.Add((branch, branchPrefix));
                }
                i = groupEnd;
            }
        }
        rules.Add(new IptablesRule(IptablesAction.Drop, "Drop: the interface belongs to no local endpoint"));
        return (new Chain(chainName, rules), branches);
    }

    /// <summary>The common prefix of the first and last of a sorted run is that of the whole run.</summary>
    private static string CommonPrefix(string first, string last)
    {
        var length = 0;
        while (length < first.Length && length < last.Length && first[length] == last[length])
        {
            length++;
        }
        return first[..length];
    }

    /// <summary>The sorted names starting with <paramref name="prefix"/>: they are contiguous.</summary>
    private (int Start, int Count) Range(string prefix)
    {
        var start = _names.BinarySearch(prefix, StringComparer.Ordinal);
        start = start < 0 ? ~start : start;
        var end = start;
        while (end < _names.Count && _names[end].StartsWith(prefix, StringComparison.Ordinal))
        {
            end++;
        }
        return (start, end - start);
    }

    private IptablesRule ToEndpoint(string interfaceName, PolicyDirection direction)
    {
        var suffix = PolicyNames.EndpointSuffix(interfaceName, _config.InterfacePrefix);
        return new IptablesRule(Interface(interfaceName, direction), new GotoAction(PolicyNames.EndpointChain(suffix, direction)));
    }

    /// <summary>Traffic to an endpoint leaves by its interface (<c>-o</c>); traffic from it enters by it (<c>-i</c>).</summary>
    private static MatchCriteria Interface(string name, PolicyDirection direction) =>
        direction == PolicyDirection.Inbound ? MatchCriteria.Any.OutInterface(name) : MatchCriteria.Any.InInterface(name);
}
