using System.Net;
using Felix.Agent.Calculation;
using Felix.Agent.Policy;
using Felix.Dataplane;
using Felix.Dataplane.Ipsets;

namespace Felix.Agent.Dataplane;

/// <summary>
/// Tag sets (<c>felix-v4-&lt;tag&gt;</c>, <c>felix-v6-&lt;tag&gt;</c>, <c>hash:ip</c>) from the
/// calculation's set updates to <see cref="IpSets"/>, which records them and computes the kernel
/// deltas at apply time. IPv6 sets are skipped when Ipv6Support is off.
/// </summary>
internal sealed class IpSetManager(IpSets sets, int maxSize, bool ipv6Support) : IDataplaneManager
{
    private readonly HashSet<IpSetId> _sets = [];

    public int Count => _sets.Count;

    public void OnUpdate(DataplaneUpdate update)
    {
        switch (update)
        {
            case IpSetUpdate set when Wanted(set.Id):
                _sets.Add(set.Id);
                sets.AddOrReplaceSet(Spec(set.Id), Hosts(set.Members));
                break;
            case IpSetDeltaUpdate delta when Wanted(delta.Id):
                var name = PolicyNames.TagSet(delta.Id.Tag, delta.Id.Version);
                sets.RemoveMembers(name, Hosts(delta.Removed));
                sets.AddMembers(name, Hosts(delta.Added));
                break;
            case IpSetRemove remove when Wanted(remove.Id):
                _sets.Remove(remove.Id);
                sets.RemoveSet(PolicyNames.TagSet(remove.Id.Tag, remove.Id.Version));
                break;
            case IpSetUpdate or IpSetDeltaUpdate or IpSetRemove:
                // IPv6 with Ipv6Support off.
                break;
            case ProfileUpdate or ProfileRemove or EndpointUpdate or EndpointRemove or PoolUpdate or PoolRemove
                or RemoteEndpointRouteUpdate or RemoteEndpointRouteRemove or InSync:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(update), update, "unknown dataplane update");
        }
    }

    public void CompleteDeferredWork()
    {
        // IpSets computes deltas against the kernel itself, in its apply.
    }

    private bool Wanted(IpSetId id) => id.Version == IpVersion.V4 || ipv6Support;

    private IpSetSpec Spec(IpSetId id) => new(PolicyNames.TagSet(id.Tag, id.Version), IpSetType.HashIp, id.Version, maxSize);

    private static IEnumerable<IPNetwork> Hosts(IEnumerable<IPAddress> addresses) => addresses.Select(IpSetSpec.Host);
}
