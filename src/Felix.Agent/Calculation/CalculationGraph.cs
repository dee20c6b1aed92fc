using System.Net;
using Felix.Agent.Datastore;
using Felix.Agent.Model;

namespace Felix.Agent.Calculation;

/// <summary>
/// Turns the cluster, as the datastore reports it, into what this host must program (DESIGN.md
/// §3). <see cref="OnUpdate"/> applies one update to the model and its indexes in work
/// proportional to the update and marks what it touched; <see cref="Flush"/> turns the marked
/// objects into the difference against what was emitted before (see CalculationGraph.Emit.cs).
/// So a burst of updates to one object costs one output, and churn costs what changed, never a
/// recomputation of the cluster.
/// <para>
/// A profile's tags are exactly its <c>tags</c> value: "every profile has a tag equal to its
/// name" is a calicoctl convention that writes that tag into the value, so adding it here would
/// put IPs into sets the operator removed the tag from. A profile is active while a local
/// endpoint (active or inactive) lists it; a tag is active while a rule of an active profile
/// names it (<c>src_tag</c>, <c>dst_tag</c> or their <c>!</c> forms), and then has a set per
/// family, holding the IPs of the active endpoints of any host whose profiles carry the tag.
/// </para>
/// Pure and single-threaded: its owner calls it from one thread.
/// </summary>
public sealed partial class CalculationGraph
{
    private readonly string _hostname;
    private readonly bool _remoteWorkloadRoutes;
    private readonly Dictionary<WorkloadEndpointKey, WorkloadEndpoint> _endpoints = [];
    private readonly Dictionary<string, ProfileRules> _rules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _tags = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<WorkloadEndpointKey>> _activeEndpointsByProfile =
        new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<WorkloadEndpointKey>> _remoteEndpointsByHost =
        new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _localProfileRefs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _activeTagRefs = new(StringComparer.Ordinal);
    private readonly Dictionary<IpPoolKey, IpPool> _pools = [];
    private readonly Dictionary<string, IPAddress> _hostIps = new(StringComparer.Ordinal);
    private readonly TagMembers _members = new();
    private readonly TimeProvider _time;
    private int _activeLocalEndpoints;

    /// <param name="hostname">This host: endpoints under it are local.</param>
    /// <param name="remoteWorkloadRoutes">Whether to emit routes to other hosts' endpoints.</param>
    /// <param name="time">The clock <see cref="LastBatchDuration"/> is measured with; the system's by default.</param>
    public CalculationGraph(string hostname, bool remoteWorkloadRoutes, TimeProvider? time = null)
    {
        _hostname = hostname;
        _remoteWorkloadRoutes = remoteWorkloadRoutes;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Local endpoints in state active.</summary>
    public int ActiveLocalEndpoints => _activeLocalEndpoints;

    /// <summary>Profiles some local endpoint lists, defined or not.</summary>
    public int ActiveLocalProfiles => _localProfileRefs.Count;

    /// <summary>Tags some rule of an active profile names; each has a v4 and a v6 set.</summary>
    public int ActiveTags => _activeTagRefs.Count;

    /// <summary>Records one update; nothing is emitted until <see cref="Flush"/>.</summary>
    public void OnUpdate(DatastoreUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        var start = _time.GetTimestamp();
        Apply(update);
        _batchTime += _time.GetElapsedTime(start);
    }

    private void Apply(DatastoreUpdate update)
    {
        switch (update)
        {
            case WorkloadEndpointChanged changed:
                SetEndpoint(changed.Key, changed.Endpoint);
                break;
            case WorkloadEndpointRemoved removed:
                SetEndpoint(removed.Key, null);
                break;
            case ProfileRulesChanged changed:
                SetRules(changed.Key.ProfileId, changed.Rules);
                break;
            case ProfileRulesRemoved removed:
                SetRules(removed.Key.ProfileId, null);
                break;
            case ProfileTagsChanged changed:
                SetTags(changed.Key.ProfileId, [.. changed.Tags.Tags.Distinct(StringComparer.Ordinal)]);
                break;
            case ProfileTagsRemoved removed:
                SetTags(removed.Key.ProfileId, []);
                break;
            case IpPoolChanged changed:
                _pools[changed.Key] = changed.Pool;
                _dirtyPools.Add(changed.Key);
                break;
            case IpPoolRemoved removed:
                _pools.Remove(removed.Key);
                _dirtyPools.Add(removed.Key);
                break;
            case HostIpChanged changed:
                SetHostIp(changed.Key.Hostname, changed.HostIp.Address);
                break;
            case HostIpRemoved removed:
                SetHostIp(removed.Key.Hostname, null);
                break;
            case DatastoreInSync:
                _inSyncReceived = true;
                _inSyncPending = true;
                break;
            case ConfigChanged or ConfigRemoved:
                // Config is resolved by the config monitor; nothing here depends on it.
                break;
        }
    }

    private void SetEndpoint(WorkloadEndpointKey key, WorkloadEndpoint? endpoint)
    {
        var old = _endpoints.GetValueOrDefault(key);
        if (Equals(old, endpoint))
        {
            return;
        }
        var local = key.Hostname == _hostname;
        // Withdraw first: the indexes are sets keyed by endpoint, so adding the new value before
        // withdrawing the old would drop the endpoint when both list the same profile.
        if (old is not null)
        {
            Account(key, old, local, -1);
        }
        if (endpoint is not null)
        {
            Account(key, endpoint, local, +1);
        }
        if (endpoint is null)
        {
            _endpoints.Remove(key);
        }
        else
        {
            _endpoints[key] = endpoint;
        }
        if (local)
        {
            _dirtyEndpoints.Add(key);
        }
        else if (_remoteWorkloadRoutes)
        {
            _dirtyRoutes.Add(key);
        }
    }

    /// <summary>Adds (<paramref name="sign"/> +1) or withdraws (-1) everything an endpoint contributes.</summary>
    private void Account(WorkloadEndpointKey key, WorkloadEndpoint endpoint, bool local, int sign)
    {
        var profiles = DistinctProfiles(endpoint.ProfileIds);
        var active = endpoint.State == EndpointState.Active;
        if (local)
        {
            if (active)
            {
                _activeLocalEndpoints += sign;
            }
            for (var i = 0; i < profiles.Count; i++)
            {
                AdjustLocalProfileRef(profiles[i], sign);
            }
        }
        else
        {
            AdjustIndex(_remoteEndpointsByHost, key.Hostname, key, sign);
        }
        if (!active)
        {
            return;
        }
        for (var i = 0; i < profiles.Count; i++)
        {
            AdjustIndex(_activeEndpointsByProfile, profiles[i], key, sign);
            foreach (var tag in _tags.GetValueOrDefault(profiles[i]) ?? [])
            {
                AdjustMembers(tag, endpoint, sign);
            }
        }
    }

    private void AdjustMembers(string tag, WorkloadEndpoint endpoint, int sign)
    {
        // Indexed, not foreach: through IReadOnlyList an enumerator is an allocation per list,
        // and a snapshot runs this for every endpoint, profile and tag.
        var (v4, v6) = (endpoint.Ipv4Nets, endpoint.Ipv6Nets);
        for (var i = 0; i < v4.Count; i++)
        {
            _members.Adjust(tag, v4[i], sign);
        }
        for (var i = 0; i < v6.Count; i++)
        {
            _members.Adjust(tag, v6[i], sign);
        }
    }

    /// <summary>
    /// An endpoint's profiles without repeats, first occurrence kept; the list itself when it has
    /// none, as it nearly always has (an endpoint lists one to a few profiles), so that costs nothing.
    /// </summary>
    internal static IReadOnlyList<string> DistinctProfiles(IReadOnlyList<string> profiles)
    {
        for (var i = 1; i < profiles.Count; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (string.Equals(profiles[i], profiles[j], StringComparison.Ordinal))
                {
                    return [.. profiles.Distinct(StringComparer.Ordinal)];
                }
            }
        }
        return profiles;
    }

    private void SetHostIp(string hostname, IPAddress? address)
    {
        if (address is null ? !_hostIps.Remove(hostname) : Equals(_hostIps.GetValueOrDefault(hostname), address))
        {
            return;
        }
        if (address is not null)
        {
            _hostIps[hostname] = address;
        }
        if (_remoteWorkloadRoutes && _remoteEndpointsByHost.TryGetValue(hostname, out var endpoints))
        {
            _dirtyRoutes.UnionWith(endpoints);
        }
    }

    private static void AdjustIndex<TKey>(
        Dictionary<TKey, HashSet<WorkloadEndpointKey>> index, TKey key, WorkloadEndpointKey endpoint, int sign)
        where TKey : notnull
    {
        if (sign > 0)
        {
            if (!index.TryGetValue(key, out var set))
            {
                set = [];
                index[key] = set;
            }
            set.Add(endpoint);
        }
        else if (index.TryGetValue(key, out var set) && set.Remove(endpoint) && set.Count == 0)
        {
            index.Remove(key);
        }
    }
}
