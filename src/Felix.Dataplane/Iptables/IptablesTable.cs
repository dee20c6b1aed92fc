using Felix.Dataplane.Exec;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Iptables;

/// <summary>
/// Design: the felix chains and hooks of one table of one IP family. It holds the desired chains
/// (recorded by <see cref="SetChain"/>, <see cref="RemoveChain"/>, <see cref="SetHooks"/>, no I/O)
/// and a record of what is programmed — learnt by reading back <c>iptables-save</c>, and after that
/// kept up to date from its own successful writes. <see cref="ApplyAsync"/> compares the two for the
/// chains that changed and writes one <c>iptables-restore --noflush</c> batch with only the
/// difference (<see cref="ChainDiff"/>). Read-back is never on that path: with the nft backend it
/// costs seconds at scale, so it runs at start, after a failure, shortly after writes (backing off)
/// and every refresh interval, and repairs whatever someone else changed in our chains or hooks.
/// Post-write read-backs are spaced by what a read-back costs, so at scale they do not hold up the
/// changes that follow.
///
/// Only chains named <c>felix-…</c> and the hook rules (marked with our hash) are ever written;
/// every other chain and rule is left byte for byte as it is. A chain we no longer want but that
/// someone else's rule still jumps to is flushed and kept, since deleting it would fail the batch.
/// </summary>
public sealed partial class IptablesTable
{
    public const string OwnedPrefix = "felix-";

    private readonly TableName _table;
    private readonly string _tableName;
    private readonly IptablesCommands _commands;
    private readonly ICommandRunner _runner;
    private readonly IptablesMetrics.Labelled _metrics;
    private readonly ILogger _logger;
    private readonly IptablesTableOptions _options;
    private readonly TimeProvider _clock;
    private readonly Dictionary<string, Chain> _desired = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<IptablesRule>> _desiredHooks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string?>> _programmed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string?>> _builtins = new(StringComparer.Ordinal);
    private readonly HashSet<string> _foreignReferenced = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private bool _hooksDirty;
    private bool _readBackNeeded = true;
    private long _nextReadBack;
    private TimeSpan _postWriteDelay;
    private bool _adopted;
    private int _foreignRules;
    private TimeSpan _lastSave;
    private TimeSpan _lastRestore;

    public IptablesTable(TableName table, IptablesCommands commands, ICommandRunner runner, IptablesMetrics metrics,
        ILogger logger, IptablesTableOptions options, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(commands);
        ArgumentNullException.ThrowIfNull(metrics);
        _table = table;
        _tableName = table.ToRestoreName();
        _commands = commands;
        _runner = runner;
        _metrics = metrics.For(commands.Version, table);
        _logger = logger;
        _options = options;
        _clock = clock;
    }

    public TableName Table => _table;

    public IpVersion Version => _commands.Version;

    /// <summary>When applies began failing persistently (every attempt of one apply refused), or null.</summary>
    public DateTimeOffset? FailingSince { get; private set; }

    /// <summary>Whether an apply would write anything or read back first.</summary>
    public bool HasPendingWork => _dirty.Count > 0 || _hooksDirty || _readBackNeeded || ReadBackDue;

    public void SetChain(Chain chain)
    {
        ArgumentNullException.ThrowIfNull(chain);
        if (!chain.Name.StartsWith(OwnedPrefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"chain {chain.Name} is not ours to write", nameof(chain));
        }
        if (_desired.TryGetValue(chain.Name, out var current) && current.Equals(chain))
        {
            return;
        }
        _desired[chain.Name] = chain;
        _dirty.Add(chain.Name);
    }

    public void RemoveChain(string name)
    {
        if (_desired.Remove(name))
        {
            _dirty.Add(name);
        }
    }

    /// <summary>The rules to keep at the top of built-in chains, in order; replaces the previous hooks.</summary>
    public void SetHooks(IEnumerable<Hook> hooks)
    {
        _desiredHooks.Clear();
        foreach (var hook in hooks)
        {
            if (!_desiredHooks.TryGetValue(hook.BuiltinChain, out var rules))
            {
                _desiredHooks[hook.BuiltinChain] = rules = [];
            }
            rules.Add(hook.Rule);
        }
        _hooksDirty = true;
    }

    /// <summary>Whether the table has chains or hooks to write (known, not waiting for a read-back to find out).</summary>
    public bool HasChangesToWrite => _dirty.Count > 0 || _hooksDirty;

    /// <summary>Whether a read-back is due: after a write (backing off) or every refresh interval.</summary>
    public bool ReadBackDue => _clock.GetTimestamp() >= _nextReadBack;

    /// <summary>Has the next apply read back first: a periodic refresh, or a suspicion of drift.</summary>
    public void RequestReadBack() => _readBackNeeded = true;
}
