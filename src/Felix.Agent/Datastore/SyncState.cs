using Felix.Agent.Model;
using Felix.Dataplane.Collections;

namespace Felix.Agent.Datastore;

/// <summary>A key and its valid value.</summary>
internal sealed record Entry(DatastoreKey Key, DatastoreValue Value);

/// <summary>
/// One key/value from etcd, parsed. Parsing is pure and thread-safe, so a large snapshot is parsed
/// on several cores, page by page, while the next page is still being read.
/// </summary>
public readonly record struct ParsedEntry(string Path, KeyParseResult Key, ValueParseResult? Value, long Revision);

/// <summary>A value etcd holds that cannot be used, reported once per (key, revision).</summary>
public sealed record RejectedEntry(string Key, string Kind, string Reason);

/// <summary>
/// The datastore's record of what etcd holds (<c>current</c>) and what consumers have been given
/// (<c>delivered</c>). Snapshots and watch events only change <c>current</c> and mark keys dirty;
/// <see cref="TakeUpdates"/> turns the dirty keys into the exact difference. So a resync after a
/// compaction or an outage delivers only what really changed — never "remove all, add all" — and
/// while <c>/calico/v1/Ready</c> is not true nothing is delivered at all. Pure: no I/O, no clock.
/// </summary>
public sealed class SyncState
{
    private readonly string _hostname;
    private readonly ModelOptions _options;
    private readonly Dictionary<string, Entry> _current = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry> _delivered = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _reportedInvalid = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly List<RejectedEntry> _newlyRejected = [];
    private readonly List<string> _ignored = [];
    private readonly ClusterCounter _counts = new();
    private bool _ready;
    private bool _snapshotLoaded;
    private bool _inSyncDelivered;

    public SyncState(string hostname, ModelOptions options)
    {
        _hostname = hostname;
        _options = options;
    }

    /// <summary><c>/calico/v1/Ready</c> is true.</summary>
    public bool DatastoreReady => _ready;

    /// <summary>A snapshot has been loaded and everything dirty delivered, with Ready true.</summary>
    public bool InSync => _inSyncDelivered && _dirty.Count == 0;

    public int DeliveredCount => _delivered.Count;

    /// <summary>Parses one key and value; pure, safe to call from any thread.</summary>
    public ParsedEntry Parse(string path, ReadOnlyMemory<byte> value, long revision)
    {
        var key = KeyParser.Parse(path);
        var parsed = key switch
        {
            KnownKey { Key: HostConfigKey host } when host.Hostname != _hostname => null,
            KnownKey known => ValueParser.Parse(known.Key, value.Span, _options),
            _ => null,
        };
        return new ParsedEntry(path, key, parsed, revision);
    }

    /// <summary>Replaces everything known with a fresh snapshot of <c>/calico/v1/</c>.</summary>
    public void LoadSnapshot(IEnumerable<(string Key, ReadOnlyMemory<byte> Value, long Revision)> items) =>
        LoadSnapshot(items.Select(i => Parse(i.Key, i.Value, i.Revision)));

    /// <summary>Replaces everything known with a fresh, already parsed snapshot.</summary>
    public void LoadSnapshot(IEnumerable<ParsedEntry> entries)
    {
        _dirty.UnionWith(_current.Keys);
        _current.Clear();
        _ready = false;
        foreach (var entry in entries)
        {
            Put(entry);
        }
        _dirty.UnionWith(_delivered.Keys);
        _snapshotLoaded = true;
    }

    /// <summary>Applies one watch event: a put (<paramref name="value"/> set) or a delete.</summary>
    public void Apply(string key, ReadOnlyMemory<byte>? value, long revision)
    {
        if (value is { } bytes)
        {
            Put(Parse(key, bytes, revision));
        }
        else
        {
            Delete(key);
        }
    }

    /// <summary>Values found invalid since the last call, each reported once per revision.</summary>
    public IReadOnlyList<RejectedEntry> TakeRejected()
    {
        if (_newlyRejected.Count == 0)
        {
            return [];
        }
        var taken = _newlyRejected.ToList();
        _newlyRejected.Clear();
        return taken;
    }

    /// <summary>
    /// Keys under /calico/ this agent does not know, since the last call (for debug logging; at most
    /// <see cref="MaxIgnoredReported"/> per call, so a foreign tree cannot grow memory).
    /// </summary>
    public IReadOnlyList<string> TakeIgnored()
    {
        if (_ignored.Count == 0)
        {
            return [];
        }
        var taken = _ignored.ToList();
        _ignored.Clear();
        return taken;
    }

    public const int MaxIgnoredReported = 100;

    /// <summary>Hosts, endpoints and profiles among what has been delivered.</summary>
    public ClusterCounts Counts => _counts.Counts;

    /// <summary>
    /// The updates that bring consumers from what they were given to what etcd holds, then
    /// <see cref="DatastoreInSync"/> when this completes a sync. Empty while Ready is not true.
    /// </summary>
    public IReadOnlyList<DatastoreUpdate> TakeUpdates()
    {
        if (!_ready || !_snapshotLoaded)
        {
            if (!_ready)
            {
                _inSyncDelivered = false;
            }
            return [];
        }
        var updates = new List<DatastoreUpdate>(_dirty.Count + 1);
        foreach (var path in _dirty.Order(StringComparer.Ordinal))
        {
            var now = _current.GetValueOrDefault(path);
            var before = _delivered.GetValueOrDefault(path);
            if (now is { } set && (before is null || !Equals(before.Value, set.Value)))
            {
                updates.Add(DatastoreUpdate.Set(set.Key, set.Value));
                if (before is null)
                {
                    _counts.Added(set.Key);
                }
                _delivered[path] = set;
            }
            else if (now is null && before is { } removed)
            {
                updates.Add(DatastoreUpdate.Remove(removed.Key));
                _counts.Removed(removed.Key);
                _delivered.Remove(path);
            }
        }
        _dirty.ClearAndShrink();
        if (!_inSyncDelivered)
        {
            updates.Add(new DatastoreInSync());
            _inSyncDelivered = true;
        }
        return updates;
    }

    private void Put(ParsedEntry entry)
    {
        var (path, revision) = (entry.Path, entry.Revision);
        switch (entry.Key)
        {
            case KnownKey { Key: ReadyKey } known:
                _ready = entry.Value is ValidValue { Value: ReadyFlag { IsReady: true } };
                if (entry.Value is InvalidValue invalidReady)
                {
                    ReportInvalid(path, known.Key.Kind, invalidReady.Reason, revision);
                }
                break;
            case KnownKey known when entry.Value is null:
                // Another host's config: not ours to apply.
                break;
            case KnownKey known:
                switch (entry.Value)
                {
                    case ValidValue valid:
                        _current[path] = new Entry(known.Key, valid.Value);
                        _reportedInvalid.Remove(path);
                        break;
                    case InvalidValue invalid:
                        // Invalid is treated exactly as absent: a valid value it replaces is removed.
                        _current.Remove(path);
                        ReportInvalid(path, known.Key.Kind, invalid.Reason, revision);
                        break;
                }
                _dirty.Add(path);
                break;
            case InvalidKey invalidKey:
                ReportInvalid(path, invalidKey.Kind, invalidKey.Reason, revision);
                break;
            case UnknownKey:
                if (_ignored.Count < MaxIgnoredReported)
                {
                    _ignored.Add(path);
                }
                break;
        }
    }

    private void Delete(string path)
    {
        if (KeyParser.Parse(path) is KnownKey { Key: ReadyKey })
        {
            _ready = false;
            return;
        }
        _reportedInvalid.Remove(path);
        if (_current.Remove(path) || _delivered.ContainsKey(path))
        {
            _dirty.Add(path);
        }
    }

    private void ReportInvalid(string path, string kind, string reason, long revision)
    {
        if (_reportedInvalid.TryGetValue(path, out var reported) && reported == revision)
        {
            return;
        }
        _reportedInvalid[path] = revision;
        _newlyRejected.Add(new RejectedEntry(path, kind, reason));
    }
}
