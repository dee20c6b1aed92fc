using System.Text.RegularExpressions;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// The kernel tables one backend holds, for both families. The helpers here play "another process"
/// (or the state a host starts with): they change the tables directly, with the same checks the
/// tools make, and throw <see cref="InvalidOperationException"/> where the tool would fail.
/// </summary>
public sealed partial class FakeIptablesState
{
    private readonly Lock _gate;
    private readonly TimeProvider _clock;
    private readonly Dictionary<(IpVersion, string), FakeTable> _tables = [];

    /// <summary>Tables in the order they were first initialised, which is what legacy save order follows.</summary>
    private readonly List<(IpVersion Family, string Table)> _initialised = [];

    internal FakeIptablesState(Lock gate, FakeIptablesBackend backend, TimeProvider clock)
    {
        _gate = gate;
        Backend = backend;
        _clock = clock;
    }

    /// <summary>The backend whose save header <see cref="Snapshot"/> prints.</summary>
    public FakeIptablesBackend Backend { get; }

    public bool TableExists(IpVersion family, string table)
    {
        lock (_gate)
        {
            return _tables.ContainsKey((family, table));
        }
    }

    /// <summary>Whether any table of the family exists (what makes nft's save warn about legacy tables).</summary>
    public bool HasTables(IpVersion family)
    {
        lock (_gate)
        {
            return _initialised.Any(t => t.Family == family);
        }
    }

    /// <summary>The chain's rule specs in order (what save prints after <c>-A CHAIN </c>), or null when there is no such chain.</summary>
    public IReadOnlyList<string>? Chain(IpVersion family, string table, string chain)
    {
        lock (_gate)
        {
            return Find(family, table)?.Find(chain)?.Rules.Select(r => r.Spec).ToList();
        }
    }

    /// <summary>Every chain of the table in save order: built-ins, then user chains sorted.</summary>
    public IReadOnlyList<string> ChainNames(IpVersion family, string table)
    {
        lock (_gate)
        {
            return (Find(family, table) ?? new FakeTable(KnownTable(table))).Chains.Select(c => c.Name).ToList();
        }
    }

    /// <summary>A built-in chain's policy, or null for a user chain or no chain.</summary>
    public string? Policy(IpVersion family, string table, string chain)
    {
        lock (_gate)
        {
            return Find(family, table)?.Find(chain)?.Policy;
        }
    }

    public void CreateChain(IpVersion family, string table, string chain)
    {
        lock (_gate)
        {
            var target = Ensure(family, table);
            if (chain.Length > RuleSpec.MaxNameLength || target.Find(chain) is not null)
            {
                throw new InvalidOperationException($"cannot create chain {chain} in {family} {table}: too long or exists");
            }
            target.AddUserChain(chain);
        }
    }

    public void AppendRule(IpVersion family, string table, string chain, string spec)
    {
        lock (_gate)
        {
            var rules = Rules(family, table, chain);
            rules.Add(ValidRule(family, table, spec));
        }
    }

    /// <summary>Inserts at a 1-based position; one past the end appends, as <c>-I</c> allows.</summary>
    public void InsertRule(IpVersion family, string table, string chain, int position, string spec)
    {
        lock (_gate)
        {
            var rules = Rules(family, table, chain);
            CheckPosition(position, rules.Count + 1, chain);
            rules.Insert(position - 1, ValidRule(family, table, spec));
        }
    }

    public void DeleteRule(IpVersion family, string table, string chain, int position)
    {
        lock (_gate)
        {
            var rules = Rules(family, table, chain);
            CheckPosition(position, rules.Count, chain);
            rules.RemoveAt(position - 1);
        }
    }

    public void FlushChain(IpVersion family, string table, string chain)
    {
        lock (_gate)
        {
            Rules(family, table, chain).Clear();
        }
    }

    /// <summary>Deletes an empty, unreferenced user chain, as <c>-X</c> does.</summary>
    public void DeleteChain(IpVersion family, string table, string chain)
    {
        lock (_gate)
        {
            var target = Ensure(family, table);
            if (target.Find(chain) is not { IsBuiltin: false, Rules.Count: 0 } || target.References(chain) > 0)
            {
                throw new InvalidOperationException($"cannot delete {chain} in {family} {table}: missing, built-in, not empty or referenced");
            }
            target.RemoveUserChain(chain);
        }
    }

    /// <summary>
    /// A built-in chain's packet and byte counters (<c>[p:b]</c>). A legacy commit of the table zeroes
    /// them again unless <c>-c</c> sets them; nft keeps them (and never counts packets in them).
    /// </summary>
    public void SetCounters(IpVersion family, string table, string chain, string counters)
    {
        lock (_gate)
        {
            var target = Ensure(family, table).Find(chain);
            if (target is not { IsBuiltin: true } || !CountersPattern().IsMatch(counters))
            {
                throw new InvalidOperationException(
                    $"{chain} in {family} {table} is not a built-in chain, or '{counters}' is not [p:b]; user chains have no counters");
            }
            target.Counters = counters;
        }
    }

    /// <summary>A rule's counters (1-based position); both backends keep them while the rule itself is untouched.</summary>
    public void SetRuleCounters(IpVersion family, string table, string chain, int position, string counters)
    {
        lock (_gate)
        {
            var rules = Rules(family, table, chain);
            CheckPosition(position, rules.Count, chain);
            if (!CountersPattern().IsMatch(counters))
            {
                throw new InvalidOperationException($"'{counters}' is not [p:b]");
            }
            rules[position - 1].Counters = counters;
        }
    }

    /// <summary>Exactly what <c>{family}-{backend}-save -t TABLE</c> prints; unlike the legacy tool, it does not create the table.</summary>
    public string Snapshot(IpVersion family, string table, bool counters = false)
    {
        lock (_gate)
        {
            var name = $"{(family == IpVersion.V6 ? "ip6tables" : "iptables")}-{(Backend == FakeIptablesBackend.Nft ? "nft" : "legacy")}-save";
            return FakeSave.Render(Find(family, table) ?? new FakeTable(KnownTable(table)), FakeSave.Header(Backend, family, name), counters, _clock);
        }
    }

    internal FakeTable? Find(IpVersion family, string table) => _tables.GetValueOrDefault((family, table));

    /// <summary>The table, initialising it if it is new (the kernel does that on first use).</summary>
    internal FakeTable Ensure(IpVersion family, string table)
    {
        if (!_tables.TryGetValue((family, KnownTable(table)), out var existing))
        {
            existing = new FakeTable(table);
            _tables[(family, table)] = existing;
            _initialised.Add((family, table));
        }
        return existing;
    }

    internal void Replace(IpVersion family, FakeTable table)
    {
        Ensure(family, table.Name);
        _tables[(family, table.Name)] = table;
    }

    /// <summary>The family's tables, most recently initialised first, as legacy save lists them.</summary>
    internal IEnumerable<FakeTable> NewestFirst(IpVersion family) =>
        _initialised.Where(t => t.Family == family).Reverse().Select(t => _tables[t]);

    internal static bool IsCounters(string text) => CountersPattern().IsMatch(text);

    private static string KnownTable(string table) =>
        FakeTable.Builtins.ContainsKey(table) ? table : throw new ArgumentException($"'{table}' is not an iptables table", nameof(table));

    private List<FakeRule> Rules(IpVersion family, string table, string chain) =>
        Ensure(family, table).Find(chain)?.Rules ?? throw new InvalidOperationException($"no chain {chain} in {family} {table}");

    private FakeRule ValidRule(IpVersion family, string table, string spec)
    {
        ParsedRule rule;
        try
        {
            rule = RuleSpec.Parse(RuleSpec.Tokenize(spec), family);
        }
        catch (ParameterProblemException e)
        {
            throw new InvalidOperationException($"'{spec}': {e.Message}", e);
        }
        if (rule.Target is { } jump && !Targets.IsKnown(jump) && Ensure(family, table).Find(jump) is not { IsBuiltin: false })
        {
            throw new InvalidOperationException($"'{spec}' jumps to {jump}, which is neither a target nor a chain of {family} {table}");
        }
        return new FakeRule(rule.Spec);
    }

    private static void CheckPosition(int position, int max, string chain)
    {
        if (position < 1 || position > max)
        {
            throw new InvalidOperationException($"position {position} is outside 1..{max} in {chain}");
        }
    }

    [GeneratedRegex(@"^\[[0-9]+:[0-9]+\]\z")]
    private static partial Regex CountersPattern();
}
