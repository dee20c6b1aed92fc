using Felix.Agent.Model;
using Felix.Dataplane.Collections;

namespace Felix.Agent.Calculation;

/// <summary>
/// The output half of <see cref="CalculationGraph"/>: compares each object marked since the last
/// flush with what the dataplane was last told, and emits the difference once, in an order that
/// never lets the dataplane see a reference to something it does not have yet: sets, pools,
/// profiles, endpoints, routes; then removals in reverse (routes, endpoints, profiles, sets,
/// pools). Objects of one kind are emitted in a fixed order, so equal inputs give equal batches.
/// </summary>
public sealed partial class CalculationGraph
{
    private readonly HashSet<WorkloadEndpointKey> _dirtyEndpoints = [];
    private readonly HashSet<WorkloadEndpointKey> _dirtyRoutes = [];
    private readonly HashSet<string> _dirtyProfiles = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirtyTags = new(StringComparer.Ordinal);
    private readonly HashSet<IpPoolKey> _dirtyPools = [];
    private readonly HashSet<IpSetId> _emittedSets = [];
    private readonly Dictionary<string, ProfileRules?> _emittedProfiles = new(StringComparer.Ordinal);
    private readonly Dictionary<WorkloadEndpointKey, EndpointUpdate> _emittedEndpoints = [];
    private readonly Dictionary<IpPoolKey, IpPool> _emittedPools = [];
    private readonly Dictionary<WorkloadEndpointKey, RemoteEndpointRouteUpdate> _emittedRoutes = [];
    private bool _inSyncReceived;
    private bool _inSyncPending;
    private TimeSpan _batchTime;

    /// <summary>
    /// Time spent on the last emitted batch: its <see cref="OnUpdate"/> calls and the flush that
    /// emitted it (for the snapshot, every update since the start). What the update-time metric
    /// observes, once per batch.
    /// </summary>
    public TimeSpan LastBatchDuration { get; private set; }

    /// <summary>
    /// The changes since the last flush. Until the datastore has first reported in sync this
    /// returns nothing and keeps accumulating, so the dataplane never programs half a snapshot;
    /// the flush after that emits the whole snapshot followed by <see cref="InSync"/>.
    /// </summary>
    public IReadOnlyList<DataplaneUpdate> Flush()
    {
        var start = _time.GetTimestamp();
        if (!_inSyncReceived)
        {
            _batchTime += _time.GetElapsedTime(start);
            return [];
        }
        var updates = Emit();
        LastBatchDuration = _batchTime + _time.GetElapsedTime(start);
        _batchTime = TimeSpan.Zero;
        return updates;
    }

    private List<DataplaneUpdate> Emit()
    {
        var updates = new List<DataplaneUpdate>();
        var removals = new List<DataplaneUpdate>();
        var setRemovals = EmitSets(updates);
        var poolRemovals = EmitPools(updates);
        var profileRemovals = EmitProfiles(updates);
        var endpointRemovals = EmitEndpoints(updates);
        removals.AddRange(EmitRoutes(updates));
        removals.AddRange(endpointRemovals);
        removals.AddRange(profileRemovals);
        removals.AddRange(setRemovals);
        removals.AddRange(poolRemovals);
        updates.AddRange(removals);
        if (_inSyncPending)
        {
            _inSyncPending = false;
            updates.Add(new InSync());
        }
        return updates;
    }

    private List<DataplaneUpdate> EmitSets(List<DataplaneUpdate> updates)
    {
        var candidates = new HashSet<IpSetId>(_members.Changed);
        foreach (var tag in _dirtyTags)
        {
            candidates.Add(new IpSetId(tag, IpVersion.V4));
            candidates.Add(new IpSetId(tag, IpVersion.V6));
        }
        var removals = new List<DataplaneUpdate>();
        foreach (var id in candidates.OrderBy(i => i.Tag, StringComparer.Ordinal).ThenBy(i => i.Version))
        {
            var active = _activeTagRefs.ContainsKey(id.Tag);
            var emitted = _emittedSets.Contains(id);
            if (active && !emitted)
            {
                updates.Add(new IpSetUpdate(id, _members.Members(id)));
                _emittedSets.Add(id);
            }
            else if (active)
            {
                var (added, removed) = _members.Delta(id);
                if (added.Count > 0 || removed.Count > 0)
                {
                    updates.Add(new IpSetDeltaUpdate(id, added, removed));
                }
            }
            else if (emitted)
            {
                removals.Add(new IpSetRemove(id));
                _emittedSets.Remove(id);
            }
        }
        _members.ForgetChanges();
        _dirtyTags.Clear();
        return removals;
    }

    private List<DataplaneUpdate> EmitPools(List<DataplaneUpdate> updates)
    {
        var removals = new List<DataplaneUpdate>();
        foreach (var key in _dirtyPools.OrderBy(k => k.Path, StringComparer.Ordinal))
        {
            if (_pools.TryGetValue(key, out var pool))
            {
                if (!_emittedPools.TryGetValue(key, out var before) || before != pool)
                {
                    updates.Add(new PoolUpdate(key, pool));
                    _emittedPools[key] = pool;
                }
            }
            else if (_emittedPools.Remove(key))
            {
                removals.Add(new PoolRemove(key));
            }
        }
        _dirtyPools.Clear();
        return removals;
    }

    private List<DataplaneUpdate> EmitProfiles(List<DataplaneUpdate> updates)
    {
        var removals = new List<DataplaneUpdate>();
        foreach (var profile in _dirtyProfiles.Order(StringComparer.Ordinal))
        {
            if (_localProfileRefs.ContainsKey(profile))
            {
                var rules = _rules.GetValueOrDefault(profile);
                if (!_emittedProfiles.TryGetValue(profile, out var before) || before != rules)
                {
                    updates.Add(new ProfileUpdate(profile, rules));
                    _emittedProfiles[profile] = rules;
                }
            }
            else if (_emittedProfiles.Remove(profile))
            {
                removals.Add(new ProfileRemove(profile));
            }
        }
        _dirtyProfiles.Clear();
        return removals;
    }

    private List<DataplaneUpdate> EmitEndpoints(List<DataplaneUpdate> updates)
    {
        var removals = new List<DataplaneUpdate>();
        foreach (var key in _dirtyEndpoints.OrderBy(k => k.Path, StringComparer.Ordinal))
        {
            if (_endpoints.TryGetValue(key, out var endpoint))
            {
                var update = new EndpointUpdate(
                    key,
                    endpoint.State,
                    endpoint.Name,
                    endpoint.Mac,
                    EquatableList.From(DistinctProfiles(endpoint.ProfileIds)),
                    EquatableList.From(endpoint.Ipv4Nets),
                    EquatableList.From(endpoint.Ipv6Nets),
                    endpoint.Ipv4Gateway,
                    endpoint.Ipv6Gateway);
                if (!_emittedEndpoints.TryGetValue(key, out var before) || before != update)
                {
                    updates.Add(update);
                    _emittedEndpoints[key] = update;
                }
            }
            else if (_emittedEndpoints.Remove(key))
            {
                removals.Add(new EndpointRemove(key));
            }
        }
        _dirtyEndpoints.ClearAndShrink();
        return removals;
    }

    private List<DataplaneUpdate> EmitRoutes(List<DataplaneUpdate> updates)
    {
        var removals = new List<DataplaneUpdate>();
        foreach (var key in _dirtyRoutes.OrderBy(k => k.Path, StringComparer.Ordinal))
        {
            var route = DesiredRoute(key);
            if (route is not null)
            {
                if (!_emittedRoutes.TryGetValue(key, out var before) || before != route)
                {
                    updates.Add(route);
                    _emittedRoutes[key] = route;
                }
            }
            else if (_emittedRoutes.Remove(key))
            {
                removals.Add(new RemoteEndpointRouteRemove(key));
            }
        }
        _dirtyRoutes.ClearAndShrink();
        return removals;
    }

    private RemoteEndpointRouteUpdate? DesiredRoute(WorkloadEndpointKey key) =>
        _endpoints.TryGetValue(key, out var endpoint)
        && endpoint.State == EndpointState.Active
        && endpoint.Ipv4Nets.Count > 0
        && _hostIps.TryGetValue(key.Hostname, out var hostIp)
            ? new RemoteEndpointRouteUpdate(key, EquatableList.From(endpoint.Ipv4Nets), hostIp)
            : null;
}
