using System.Net;
using Felix.Agent.Calculation;
using Felix.Agent.Model;
using Felix.Agent.Policy;
using Felix.Dataplane;
using Felix.Dataplane.Ipsets;

namespace Felix.Agent.Dataplane;

/// <summary>
/// The NAT sets of each family: <c>felix-all-ipam-pools</c> (every pool) and
/// <c>felix-masq-ipam-pools</c> (pools with masquerade on), <c>hash:net</c>, which the
/// <c>felix-POSTROUTING</c> chain matches. Both always exist, empty when there is no pool, so the
/// chain never refers to a missing set whatever order pools and rules change in.
/// </summary>
internal sealed class PoolSetManager : IDataplaneManager
{
    private readonly IpSets _sets;
    private readonly int _maxSize;
    private readonly IpVersion[] _versions;
    private readonly Dictionary<IpPoolKey, IpPool> _pools = [];
    private bool _dirty = true;

    public PoolSetManager(IpSets sets, int maxSize, bool ipv6Support)
    {
        _sets = sets;
        _maxSize = maxSize;
        _versions = ipv6Support ? [IpVersion.V4, IpVersion.V6] : [IpVersion.V4];
    }

    public void OnUpdate(DataplaneUpdate update)
    {
        switch (update)
        {
            case PoolUpdate pool:
                _dirty |= !_pools.TryGetValue(pool.Key, out var old) || old != pool.Pool;
                _pools[pool.Key] = pool.Pool;
                break;
            case PoolRemove pool:
                _dirty |= _pools.Remove(pool.Key);
                break;
            case IpSetUpdate or IpSetDeltaUpdate or IpSetRemove or ProfileUpdate or ProfileRemove or EndpointUpdate
                or EndpointRemove or RemoteEndpointRouteUpdate or RemoteEndpointRouteRemove or InSync:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(update), update, "unknown dataplane update");
        }
    }

    public void CompleteDeferredWork()
    {
        if (!_dirty)
        {
            return;
        }
        foreach (var version in _versions)
        {
            var pools = _pools.Where(p => p.Key.Version == version).Select(p => p.Value).ToList();
            _sets.AddOrReplaceSet(Spec(PolicyNames.AllPoolsSet(version), version), Networks(pools));
            _sets.AddOrReplaceSet(Spec(PolicyNames.MasqueradePoolsSet(version), version), Networks(pools.Where(p => p.Masquerade)));
        }
        _dirty = false;
    }

    private IpSetSpec Spec(string name, IpVersion version) => new(name, IpSetType.HashNet, version, _maxSize);

    private static IEnumerable<IPNetwork> Networks(IEnumerable<IpPool> pools) => pools.Select(p => p.Cidr).Distinct();
}
