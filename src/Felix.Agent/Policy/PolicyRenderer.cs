using Felix.Agent.Calculation;
using Felix.Agent.Model;
using Felix.Dataplane.Iptables;

namespace Felix.Agent.Policy;

/// <summary>The chains of one table that changed in one render, and the ones that went away.</summary>
public sealed record TableChanges(TableName Table, IReadOnlyList<Chain> Updated, IReadOnlyList<string> Removed)
{
    public bool IsEmpty => Updated.Count == 0 && Removed.Count == 0;
}

/// <summary>
/// What one <see cref="PolicyRenderer.Render"/> changed. <see cref="ChainsRendered"/> counts every
/// chain built, changed or not: the measure of how much work one update cost.
/// </summary>
public sealed record PolicyChanges(TableChanges Filter, TableChanges Nat, int ChainsRendered)
{
    public bool IsEmpty => Filter.IsEmpty && Nat.IsEmpty;
}

/// <summary>
/// Design: the desired felix chains of one IP family, kept up to date from the calculation's
/// updates with work proportional to the change. <see cref="OnUpdate"/> only records which
/// profiles, interfaces and host chains are affected; <see cref="Render"/> rebuilds exactly those,
/// compares each with the chain it replaces and reports only real differences, which is what the
/// iptables table then writes. Everything here is a pure function of the updates received: no I/O,
/// no clock, so the same updates always give the same chains, byte for byte.
///
/// Two endpoints claiming one interface cannot both own its chains; the one whose key sorts first
/// does, deterministically, and the other takes over if that one goes away.
/// </summary>
public sealed class PolicyRenderer
{
    private readonly IpVersion _version;
    private readonly PolicyConfig _config;
    private readonly Dictionary<string, ProfileRules?> _profiles = new(StringComparer.Ordinal);
    private readonly Dictionary<WorkloadEndpointKey, EndpointUpdate> _endpoints = [];
    private readonly Dictionary<string, SortedList<string, EndpointUpdate>> _byInterface = new(StringComparer.Ordinal);
    private readonly Dictionary<IpPoolKey, IpPool> _pools = [];
    private readonly Dictionary<string, Chain> _filter = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Chain> _nat = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirtyProfiles = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirtyInterfaces = new(StringComparer.Ordinal);
    private readonly DispatchChains _dispatch;
    private readonly SharedRules _shared;
    private bool _hostChainsDirty = true;
    private bool _natDirty = true;

    public PolicyRenderer(IpVersion version, PolicyConfig config)
    {
        _version = version;
        _config = config;
        _dispatch = new DispatchChains(config);
        _shared = new SharedRules(config);
    }

    public IpVersion Version => _version;

    /// <summary>The hooks into the built-in chains of <paramref name="table"/>; the same for every family.</summary>
    public static IReadOnlyList<Hook> Hooks(TableName table) => HostChains.Hooks(table);

    /// <summary>Every chain currently desired in <paramref name="table"/>, as of the last render.</summary>
    public IReadOnlyCollection<Chain> Chains(TableName table) => Table(table).Values;

    public void OnUpdate(DataplaneUpdate update)
    {
        switch (update)
        {
            case ProfileUpdate profile:
                _profiles[profile.ProfileId] = profile.Rules;
                _dirtyProfiles.Add(profile.ProfileId);
                break;
            case ProfileRemove profile:
                _profiles.Remove(profile.ProfileId);
                _shared.Forget(profile.ProfileId);
                _dirtyProfiles.Add(profile.ProfileId);
                break;
            case EndpointUpdate endpoint:
                RemoveEndpoint(endpoint.Key);
                _endpoints[endpoint.Key] = endpoint;
                Claimants(endpoint.InterfaceName).Add(endpoint.Key.Path, endpoint);
                _dirtyInterfaces.Add(endpoint.InterfaceName);
                break;
            case EndpointRemove endpoint:
                RemoveEndpoint(endpoint.Key);
                break;
            case PoolUpdate pool:
                _pools[pool.Key] = pool.Pool;
                _natDirty = true;
                break;
            case PoolRemove pool:
                _natDirty |= _pools.Remove(pool.Key);
                break;
            case IpSetUpdate or IpSetDeltaUpdate or IpSetRemove:
            case RemoteEndpointRouteUpdate or RemoteEndpointRouteRemove:
            case InSync:
                // Sets and routes have their own managers; the chains refer to sets only by name.
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(update), update, "unknown dataplane update");
        }
    }

    /// <summary>Rebuilds what the recorded updates affected and returns the chains that differ.</summary>
    public PolicyChanges Render()
    {
        var filter = new ChangeSet(_filter);
        var nat = new ChangeSet(_nat);
        if (_hostChainsDirty)
        {
            filter.SetAll(HostChains.Filter(_version, _config));
            _hostChainsDirty = false;
        }
        foreach (var profileId in _dirtyProfiles)
        {
            if (_profiles.TryGetValue(profileId, out var rules))
            {
                filter.SetAll(ProfileChains.Render(profileId, rules, _version, _config));
            }
            else
            {
                filter.RemoveAll(ProfileChains.Names(profileId));
            }
        }
        foreach (var interfaceName in _dirtyInterfaces)
        {
            if (_byInterface.TryGetValue(interfaceName, out var claimants))
            {
                filter.SetAll(EndpointChains.Render(claimants.Values[0], _version, _config, _shared));
            }
            else
            {
                filter.RemoveAll(EndpointChains.Names(interfaceName, _config));
            }
        }
        _dispatch.Render(filter.Set, filter.Remove);
        if (_natDirty)
        {
            var masquerade = _pools.Any(p => p.Key.Version == _version && p.Value.Masquerade);
            nat.SetAll([HostChains.Postrouting(_version, masquerade)]);
        }
        _dirtyProfiles.Clear();
        _dirtyInterfaces.Clear();
        _natDirty = false;
        return new PolicyChanges(filter.ToChanges(TableName.Filter), nat.ToChanges(TableName.Nat), filter.Rendered + nat.Rendered);
    }

    private void RemoveEndpoint(WorkloadEndpointKey key)
    {
        if (!_endpoints.Remove(key, out var old))
        {
            return;
        }
        var claimants = _byInterface[old.InterfaceName];
        claimants.Remove(key.Path);
        if (claimants.Count == 0)
        {
            _byInterface.Remove(old.InterfaceName);
            _dispatch.Remove(old.InterfaceName);
        }
        _dirtyInterfaces.Add(old.InterfaceName);
    }

    private SortedList<string, EndpointUpdate> Claimants(string interfaceName)
    {
        if (!_byInterface.TryGetValue(interfaceName, out var claimants))
        {
            claimants = new SortedList<string, EndpointUpdate>(StringComparer.Ordinal);
            _byInterface[interfaceName] = claimants;
            _dispatch.Add(interfaceName);
        }
        return claimants;
    }

    private Dictionary<string, Chain> Table(TableName table) => table switch
    {
        TableName.Filter => _filter,
        TableName.Nat => _nat,
        _ => throw new ArgumentOutOfRangeException(nameof(table), table, null),
    };

    /// <summary>Applies new chains to one table's record, remembering which ones really changed.</summary>
    private sealed class ChangeSet(Dictionary<string, Chain> chains)
    {
        private readonly Dictionary<string, Chain> _updated = new(StringComparer.Ordinal);
        private readonly HashSet<string> _removed = new(StringComparer.Ordinal);

        public int Rendered { get; private set; }

        public void SetAll(IEnumerable<Chain> rendered)
        {
            foreach (var chain in rendered)
            {
                Set(chain);
            }
        }

        public void Set(Chain chain)
        {
            Rendered++;
            if (chains.TryGetValue(chain.Name, out var current) && current.Equals(chain))
            {
                return;
            }
            chains[chain.Name] = chain;
            _updated[chain.Name] = chain;
            _removed.Remove(chain.Name);
        }

        public void RemoveAll(IEnumerable<string> names)
        {
            foreach (var name in names)
            {
                Remove(name);
            }
        }

        public void Remove(string name)
        {
            if (chains.Remove(name))
            {
                _updated.Remove(name);
                _removed.Add(name);
            }
        }

        public TableChanges ToChanges(TableName table) =>
            new(table,
                [.. _updated.Values.OrderBy(c => c.Name, StringComparer.Ordinal)],
                [.. _removed.Order(StringComparer.Ordinal)]);
    }
}
