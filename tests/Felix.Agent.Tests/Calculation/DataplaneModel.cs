using System.Net;
using Felix.Agent.Calculation;
using Felix.Agent.Model;

namespace Felix.Agent.Tests.Calculation;

/// <summary>
/// What a dataplane would hold after applying the calculation's output, checking on the way the
/// promises the output makes: nothing references a set or profile the dataplane does not have
/// yet, nothing is removed while still referenced or before it exists, a full set update comes
/// only for a set the dataplane lacks, deltas are real, and no object appears twice in a batch.
/// </summary>
internal sealed class DataplaneModel
{
    private readonly Dictionary<IpSetId, HashSet<IPAddress>> _sets = [];
    private readonly Dictionary<string, ProfileRules?> _profiles = new(StringComparer.Ordinal);
    private readonly Dictionary<WorkloadEndpointKey, EndpointUpdate> _endpoints = [];
    private readonly Dictionary<IpPoolKey, IpPool> _pools = [];
    private readonly Dictionary<WorkloadEndpointKey, RemoteEndpointRouteUpdate> _routes = [];

    public void Apply(IReadOnlyList<DataplaneUpdate> batch)
    {
        var seen = new HashSet<object>();
        foreach (var update in batch)
        {
            Assert.True(seen.Add(Identity(update)), $"emitted twice in one batch: {Cluster.Describe(update)}");
            Apply(update);
        }
    }

    /// <summary>The whole state, one sorted line per object, so two models compare as text.</summary>
    public List<string> Dump()
    {
        var lines = new List<string>();
        lines.AddRange(_sets.Select(s => $"set {s.Key} {string.Join(",", s.Value.Order(AddressOrder.Instance))}"));
        lines.AddRange(_profiles.Select(p => $"profile {p.Key} {(p.Value is null ? "stub" : Rules(p.Value))}"));
        lines.AddRange(_endpoints.Values.Select(e => $"{e}"));
        lines.AddRange(_pools.Select(p => $"{p.Key.Path} {p.Value}"));
        lines.AddRange(_routes.Values.Select(r => $"{r}"));
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private static string Rules(ProfileRules rules) =>
        string.Join(";", rules.Inbound.Concat(rules.Outbound).Select(r => $"{r.Match.SrcTag}/{r.Match.DstTag}/{r.NotMatch.SrcTag}/{r.NotMatch.DstTag}"));

    private static object Identity(DataplaneUpdate update) => update switch
    {
        IpSetUpdate u => u.Id,
        IpSetDeltaUpdate u => u.Id,
        IpSetRemove u => u.Id,
        ProfileUpdate u => ("profile", u.ProfileId),
        ProfileRemove u => ("profile", u.ProfileId),
        EndpointUpdate u => ("endpoint", u.Key),
        EndpointRemove u => ("endpoint", u.Key),
        PoolUpdate u => u.Key,
        PoolRemove u => u.Key,
        RemoteEndpointRouteUpdate u => ("route", u.Endpoint),
        RemoteEndpointRouteRemove u => ("route", u.Endpoint),
        _ => update,
    };

    private void Apply(DataplaneUpdate update)
    {
        switch (update)
        {
            case IpSetUpdate u:
                Assert.True(_sets.TryAdd(u.Id, [.. u.Members]), $"full update of a set the dataplane has: {u.Id}");
                break;
            case IpSetDeltaUpdate u:
                Assert.True(_sets.TryGetValue(u.Id, out var members), $"delta to a missing set {u.Id}");
                Assert.True(u.Added.Count + u.Removed.Count > 0, $"empty delta to {u.Id}");
                Assert.All(u.Added, ip => Assert.True(members.Add(ip), $"{ip} added to {u.Id} twice"));
                Assert.All(u.Removed, ip => Assert.True(members.Remove(ip), $"{ip} removed from {u.Id} but absent"));
                break;
            case IpSetRemove u:
                Assert.DoesNotContain(_profiles.Values, rules => TagsOf(rules).Contains(u.Id.Tag));
                Assert.True(_sets.Remove(u.Id), $"removed missing set {u.Id}");
                break;
            case ProfileUpdate u:
                Assert.All(TagsOf(u.Rules), tag =>
                {
                    Assert.True(_sets.ContainsKey(new IpSetId(tag, IpVersion.V4)), $"profile {u.ProfileId} before set {tag}/v4");
                    Assert.True(_sets.ContainsKey(new IpSetId(tag, IpVersion.V6)), $"profile {u.ProfileId} before set {tag}/v6");
                });
                _profiles[u.ProfileId] = u.Rules;
                break;
            case ProfileRemove u:
                Assert.DoesNotContain(_endpoints.Values, e => e.ProfileIds.Contains(u.ProfileId));
                Assert.True(_profiles.Remove(u.ProfileId), $"removed missing profile {u.ProfileId}");
                break;
            case EndpointUpdate u:
                Assert.All(u.ProfileIds, p => Assert.True(_profiles.ContainsKey(p), $"endpoint {u.Key.Path} before profile {p}"));
                _endpoints[u.Key] = u;
                break;
            case EndpointRemove u:
                Assert.True(_endpoints.Remove(u.Key), $"removed missing endpoint {u.Key.Path}");
                break;
            case PoolUpdate u:
                _pools[u.Key] = u.Pool;
                break;
            case PoolRemove u:
                Assert.True(_pools.Remove(u.Key), $"removed missing pool {u.Key.Path}");
                break;
            case RemoteEndpointRouteUpdate u:
                _routes[u.Endpoint] = u;
                break;
            case RemoteEndpointRouteRemove u:
                Assert.True(_routes.Remove(u.Endpoint), $"removed missing route {u.Endpoint.Path}");
                break;
            case InSync:
                break;
            default:
                Assert.Fail($"unexpected {update}");
                break;
        }
    }

    private static HashSet<string> TagsOf(ProfileRules? rules) =>
        rules is null
            ? []
            : [.. rules.Inbound.Concat(rules.Outbound)
                .SelectMany(r => new[] { r.Match.SrcTag, r.Match.DstTag, r.NotMatch.SrcTag, r.NotMatch.DstTag })
                .OfType<string>()];
}
