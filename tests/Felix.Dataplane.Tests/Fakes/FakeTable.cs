namespace Felix.Dataplane.Tests.Fakes;

/// <summary>A rule as the kernel holds it: its canonical spec (what save prints after <c>-A CHAIN </c>) and counters.</summary>
internal sealed class FakeRule(string spec, string counters = FakeTable.ZeroCounters)
{
    public string Spec { get; } = spec;

    public string Counters { get; set; } = counters;

    /// <summary>The chain or target after <c>-j</c>/<c>-g</c>, if any.</summary>
    public string? Target { get; } = RuleSpec.TargetOf(spec);

    public FakeRule Clone() => new(Spec, Counters);
}

/// <summary>A chain: a built-in one has a policy and counters; a user chain has neither (save prints <c>- [0:0]</c>).</summary>
internal sealed class FakeChain(string name, string? policy, long created = 0)
{
    public string Name { get; } = name;

    /// <summary>When the chain was created, relative to the table's other chains.</summary>
    public long Created { get; } = created;

    /// <summary>ACCEPT or DROP for a built-in chain, null for a user chain.</summary>
    public string? Policy { get; set; } = policy;

    public bool IsBuiltin => Policy is not null;

    public string Counters { get; set; } = FakeTable.ZeroCounters;

    public List<FakeRule> Rules { get; } = [];

    public FakeChain Clone()
    {
        var copy = new FakeChain(Name, Policy, Created) { Counters = Counters };
        copy.Rules.AddRange(Rules.Select(r => r.Clone()));
        return copy;
    }
}

/// <summary>
/// One table of one family: its built-in chains in kernel order, then user chains. Restore works on
/// a <see cref="Clone"/> and swaps it in at COMMIT, which is what makes a block all-or-nothing.
/// </summary>
internal sealed class FakeTable
{
    public const string ZeroCounters = "[0:0]";

    /// <summary>The kernel's tables and their built-in chains, in the order save prints them.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Builtins = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["filter"] = ["INPUT", "FORWARD", "OUTPUT"],
        ["nat"] = ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        ["mangle"] = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        ["raw"] = ["PREROUTING", "OUTPUT"],
        ["security"] = ["INPUT", "FORWARD", "OUTPUT"],
    };

    /// <summary>
    /// nft's save order for tables (its built-in table list); legacy instead lists the most recently
    /// initialised table first, which <see cref="FakeIptablesState"/> tracks.
    /// </summary>
    public static readonly IReadOnlyList<string> NftSaveOrder = ["mangle", "security", "raw", "filter", "nat"];

    private readonly Dictionary<string, FakeChain> _chains;
    private long _created;

    public FakeTable(string name)
    {
        Name = name;
        _chains = new Dictionary<string, FakeChain>(StringComparer.Ordinal);
        foreach (var builtin in Builtins[name])
        {
            _chains[builtin] = new FakeChain(builtin, "ACCEPT");
        }
    }

    private FakeTable(string name, Dictionary<string, FakeChain> chains, long created)
    {
        Name = name;
        _chains = chains;
        _created = created;
    }

    public string Name { get; }

    /// <summary>Built-in chains in kernel order, then user chains sorted by byte value, as both backends save them.</summary>
    public IEnumerable<FakeChain> Chains =>
        Builtins[Name].Select(b => _chains[b])
            .Concat(_chains.Values.Where(c => !c.IsBuiltin).OrderBy(c => c.Name, StringComparer.Ordinal));

    /// <summary>User chains oldest first: the order nft's <c>-X</c> without a chain visits (and reports) them.</summary>
    public IEnumerable<FakeChain> UserChainsByCreation => _chains.Values.Where(c => !c.IsBuiltin).OrderBy(c => c.Created);

    public bool IsBuiltin(string chain) => Builtins[Name].Contains(chain, StringComparer.Ordinal);

    public FakeChain? Find(string chain) => _chains.GetValueOrDefault(chain);

    public FakeChain AddUserChain(string chain)
    {
        var created = new FakeChain(chain, null, ++_created);
        _chains.Add(chain, created);
        return created;
    }

    public void RemoveUserChain(string chain) => _chains.Remove(chain);

    /// <summary>Rules anywhere in the table that jump or go to <paramref name="chain"/>, its own included.</summary>
    public int References(string chain) =>
        _chains.Values.Sum(c => c.Rules.Count(r => r.Target == chain));

    /// <summary>What a restore without <c>--noflush</c> starts from: every chain emptied, user chains gone.</summary>
    public void FlushAll(bool resetPolicies)
    {
        foreach (var chain in _chains.Values.Where(c => !c.IsBuiltin).ToList())
        {
            _chains.Remove(chain.Name);
        }
        foreach (var chain in _chains.Values)
        {
            chain.Rules.Clear();
            if (resetPolicies && chain.IsBuiltin)
            {
                chain.Policy = "ACCEPT";
                chain.Counters = ZeroCounters;
            }
        }
    }

    public FakeTable Clone() =>
        new(Name, _chains.Values.ToDictionary(c => c.Name, c => c.Clone(), StringComparer.Ordinal), _created);
}
