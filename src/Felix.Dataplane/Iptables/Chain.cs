using System.Collections.Immutable;

namespace Felix.Dataplane.Iptables;

/// <summary>
/// A chain the agent owns, with its rules in order. Compared by value so the dataplane can tell
/// whether a re-rendered chain differs from the one it last wrote.
/// </summary>
public sealed class Chain : IEquatable<Chain>
{
    public Chain(string name, IEnumerable<IptablesRule> rules)
    {
        Name = IptablesNames.Chain(name);
        Rules = [.. rules];
    }

    public string Name { get; }

    public ImmutableArray<IptablesRule> Rules { get; }

    /// <summary>The chains this one jumps or goes to, in rule order, each once.</summary>
    public IEnumerable<string> TargetChains => Rules.Select(r => r.Action.TargetChain).OfType<string>().Distinct();

    /// <summary>The ipsets this chain's rules match on, each once.</summary>
    public IEnumerable<string> IpSets => Rules.SelectMany(r => r.Match.IpSets).Distinct();

    public bool Equals(Chain? other) =>
        other is not null && Name == other.Name && Rules.AsSpan().SequenceEqual(other.Rules.AsSpan());

    public override bool Equals(object? obj) => Equals(obj as Chain);

    public override int GetHashCode() => HashCode.Combine(Name, Rules.Length);

    public override string ToString() => $"{Name} ({Rules.Length} rules)";
}

/// <summary>
/// A rule the agent keeps at the top of a built-in chain (<c>FORWARD</c>, <c>INPUT</c>, …) to send
/// packets into its own chains. The only place the agent touches a chain it does not own.
/// </summary>
public sealed record Hook(string BuiltinChain, IptablesRule Rule)
{
    public string BuiltinChain { get; } = IptablesNames.Chain(BuiltinChain);
}
