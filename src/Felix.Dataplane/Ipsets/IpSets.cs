using System.Net;
using Felix.Dataplane.Exec;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Ipsets;

/// <summary>
/// Design: the felix IP sets of one network namespace, both families. It holds the desired sets
/// (recorded by <see cref="AddOrReplaceSet"/>, <see cref="AddMembers"/>, <see cref="RemoveMembers"/>
/// and <see cref="RemoveSet"/>, no I/O) and, per set, the members the kernel still lacks or still
/// holds — learnt by reading back <c>ipset save</c>, then kept from its own successful writes.
/// <para>
/// The apply is split in two around the iptables apply, because a rule cannot be loaded before the
/// set it matches on exists, and a set cannot be destroyed while a rule matches on it:
/// <see cref="ApplyUpdatesAsync"/> creates and fills sets and writes member deltas, in one
/// <c>ipset restore</c>; <see cref="ApplyDeletionsAsync"/> destroys the sets nothing wants, a few
/// at a time. A set that is new, of another type or family, or whose delta was refused is built
/// whole as <c>felix-tmp-…</c> and swapped (or renamed) in, so a rule never sees it half-filled.
/// </para>
/// <para>
/// <c>ipset restore</c> is not a transaction: it stops at the first refused line with the earlier
/// ones applied. So every refusal is followed by a read-back before the next attempt, and the set
/// the refused line was for is rewritten rather than patched. Only sets named <c>felix-…</c> are
/// read, written or destroyed; every other set is left alone.
/// </para>
/// </summary>
public sealed partial class IpSets
{
    private const string Tool = "ipset";

    private readonly ICommandRunner _runner;
    private readonly IpsetMetrics _metrics;
    private readonly ILogger _logger;
    private readonly IpSetsOptions _options;
    private readonly TimeProvider _clock;
    private readonly Dictionary<string, IpSetState> _sets = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unwanted = new(StringComparer.Ordinal);
    private readonly HashSet<string> _temporaries = new(StringComparer.Ordinal);
    private int _foreignSets;
    private bool _readBackNeeded = true;
    private long _nextReadBack;
    private bool _adopted;

    public IpSets(ICommandRunner runner, IpsetMetrics metrics, ILogger logger, IpSetsOptions options, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        _runner = runner;
        _metrics = metrics;
        _logger = logger;
        _options = options;
        _clock = clock;
    }

    /// <summary>When applies began failing persistently (every attempt of one apply refused), or null.</summary>
    public DateTimeOffset? FailingSince { get; private set; }

    /// <summary>Whether an apply would write, destroy or read back anything.</summary>
    public bool HasPendingWork => _readBackNeeded || ReadBackDue || HasChangesToWrite;

    /// <summary>Whether an apply would write or destroy anything (sets blocked for now wait without counting).</summary>
    private bool HasChangesToWrite =>
        _temporaries.Count > 0 || _dirty.Any(n => !IsBlocked(_sets[n])) || _unwanted.Any(n => !IsBlocked(_sets[n]));

    /// <summary>
    /// True when the next <see cref="ApplyUpdatesAsync"/> would only add and delete members of sets
    /// the kernel already holds as wanted: nothing is created or rewritten, and nothing read back
    /// that a rule could wait for (a read-back that is merely due waits for the changes, or runs on
    /// its own when there are none), so it may run alongside the iptables apply.
    /// </summary>
    public bool ChangesOnlyMembers =>
        !_readBackNeeded && !ReadBackOverdue && _temporaries.Count == 0
        && _dirty.All(n => _sets[n] is var state && (IsBlocked(state)
            || (state.HeldAsWanted && !state.Oversized && state.Members.Count <= state.Spec!.MaxSize)));

    /// <summary>Whether the periodic read-back (every refresh interval) is due.</summary>
    public bool ReadBackDue => _clock.GetTimestamp() >= _nextReadBack;

    /// <summary>Has the next apply read back first: a suspicion of drift.</summary>
    public void RequestReadBack() => _readBackNeeded = true;

    /// <summary>Wants the set as <paramref name="spec"/> says, holding exactly <paramref name="members"/>.</summary>
    public void AddOrReplaceSet(IpSetSpec spec, IEnumerable<IPNetwork> members)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(members);
        var wanted = members as IReadOnlyCollection<IPNetwork> ?? [.. members];
        foreach (var member in wanted)
        {
            spec.Check(member);
        }
        // A new type, family or size is a rewrite, decided at apply time from what the kernel holds.
        var state = StateOf(spec.Name);
        state.Spec = spec;
        _unwanted.Remove(spec.Name);
        if (state.Members.Count > 0)
        {
            var kept = wanted as IReadOnlySet<IPNetwork> ?? wanted.ToHashSet();
            foreach (var member in state.Members.Where(m => !kept.Contains(m)).ToList())
            {
                state.RemoveMember(member);
            }
        }
        state.Members.EnsureCapacity(wanted.Count);
        foreach (var member in wanted)
        {
            state.AddMember(member);
        }
        MarkDirty(state);
    }

    public void AddMembers(string name, IEnumerable<IPNetwork> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        var state = Wanted(name);
        foreach (var member in members)
        {
            state.Spec!.Check(member);
            state.AddMember(member);
        }
        MarkDirty(state);
    }

    public void RemoveMembers(string name, IEnumerable<IPNetwork> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        var state = Wanted(name);
        foreach (var member in members)
        {
            state.RemoveMember(member);
        }
        MarkDirty(state);
    }

    /// <summary>Nothing wants the set any more: it is destroyed by a later <see cref="ApplyDeletionsAsync"/>.</summary>
    public void RemoveSet(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_sets.TryGetValue(name, out var state) || state.Spec is null)
        {
            return;
        }
        state.Spec = null;
        if (state.Oversized)
        {
            state.Oversized = false;
            UpdateOversizedGauge();
        }
        state.Members.Clear();
        state.PendingAdd.Clear();
        state.PendingDelete.Clear();
        // What the kernel holds is no longer tracked; should the set be wanted again before it is destroyed, it is rebuilt.
        state.NeedsRewrite = true;
        _dirty.Remove(name);
        if (state.Kernel is null)
        {
            _sets.Remove(name);
        }
        else
        {
            _unwanted.Add(name);
        }
    }

    /// <summary>The desired members of a set (for diagnostics and tests); null when the set is not wanted.</summary>
    public IReadOnlySet<IPNetwork>? DesiredMembers(string name) =>
        _sets.TryGetValue(name, out var state) && state.Spec is not null ? state.Members : null;

    private IpSetState StateOf(string name)
    {
        if (!_sets.TryGetValue(name, out var state))
        {
            _sets[name] = state = new IpSetState(name);
        }
        return state;
    }

    private IpSetState Wanted(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _sets.TryGetValue(name, out var state) && state.Spec is not null
            ? state
            : throw new InvalidOperationException($"ipset {name} is not a wanted set; add it with {nameof(AddOrReplaceSet)} first");
    }

    private void MarkDirty(IpSetState state)
    {
        // An oversized set stays dirty so the apply that sees it fit again says so and resets the gauge.
        if (state.InStep && !state.Oversized)
        {
            _dirty.Remove(state.Name);
        }
        else
        {
            _dirty.Add(state.Name);
        }
    }

    private void UpdateOversizedGauge() => _metrics.Oversized.Set(_sets.Values.Count(s => s.Oversized));

    private bool IsBlocked(IpSetState state) => state.BlockedUntil > _clock.GetTimestamp();
}
