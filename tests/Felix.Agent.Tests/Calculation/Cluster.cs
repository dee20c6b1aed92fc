using System.Net;
using Felix.Agent.Calculation;
using Felix.Agent.Datastore;
using Felix.Agent.Model;

namespace Felix.Agent.Tests.Calculation;

/// <summary>
/// Short builders for datastore updates and a one-line spelling of dataplane updates, so each
/// calculation test reads as "this cluster change gives exactly these lines".
/// </summary>
internal static class Cluster
{
    public const string Me = "me";

    public static WorkloadEndpointKey EpKey(string id, string host = Me) => new(host, "k8s", id, "eth0");

    public static DatastoreUpdate Ep(string id, string host, string[] profiles, params string[] ips) =>
        Ep(id, host, EndpointState.Active, profiles, ips);

    public static DatastoreUpdate Ep(string id, string host, EndpointState state, string[] profiles, params string[] ips)
    {
        var v4 = ips.Where(ip => !ip.Contains(':')).Select(ip => IPNetwork.Parse(ip + "/32")).ToArray();
        var v6 = ips.Where(ip => ip.Contains(':')).Select(ip => IPNetwork.Parse(ip + "/128")).ToArray();
        var endpoint = new WorkloadEndpoint(state, "cali" + id, null, profiles, v4, v6, null, null);
        return new WorkloadEndpointChanged(EpKey(id, host), endpoint);
    }

    public static DatastoreUpdate NoEp(string id, string host = Me) => new WorkloadEndpointRemoved(EpKey(id, host));

    /// <summary>Inbound rules allowing from each source tag (a leading '!' negates).</summary>
    public static DatastoreUpdate Rules(string profile, params string[] srcTags) =>
        new ProfileRulesChanged(new ProfileRulesKey(profile), new ProfileRules([.. srcTags.Select(TagRule)], []));

    public static Rule TagRule(string tag) => tag.StartsWith('!')
        ? new Rule { NotMatch = new RuleMatch { SrcTag = tag[1..] } }
        : new Rule { Match = new RuleMatch { SrcTag = tag } };

    public static DatastoreUpdate NoRules(string profile) => new ProfileRulesRemoved(new ProfileRulesKey(profile));

    public static DatastoreUpdate Tags(string profile, params string[] tags) =>
        new ProfileTagsChanged(new ProfileTagsKey(profile), new ProfileTags(tags));

    public static DatastoreUpdate NoTags(string profile) => new ProfileTagsRemoved(new ProfileTagsKey(profile));

    public static DatastoreUpdate Pool(string cidr, bool masquerade = false)
    {
        var net = IPNetwork.Parse(cidr);
        return new IpPoolChanged(new IpPoolKey(IpVersion.V4, net), new IpPool(net, masquerade));
    }

    public static DatastoreUpdate NoPool(string cidr) => new IpPoolRemoved(new IpPoolKey(IpVersion.V4, IPNetwork.Parse(cidr)));

    public static DatastoreUpdate HostIp(string host, string ip) =>
        new HostIpChanged(new HostIpKey(host), new HostIp(IPAddress.Parse(ip)));

    public static DatastoreUpdate NoHostIp(string host) => new HostIpRemoved(new HostIpKey(host));

    public static DatastoreUpdate Synced { get; } = new DatastoreInSync();

    public static List<string> Describe(IEnumerable<DataplaneUpdate> updates) => [.. updates.Select(Describe)];

    public static string Describe(DataplaneUpdate update) => update switch
    {
        IpSetUpdate u => $"set {u.Id} {u.Members}",
        IpSetDeltaUpdate u => $"delta {u.Id} +{u.Added} -{u.Removed}",
        IpSetRemove u => $"unset {u.Id}",
        ProfileUpdate { Rules: null } u => $"stub {u.ProfileId}",
        ProfileUpdate u => $"profile {u.ProfileId}",
        ProfileRemove u => $"unprofile {u.ProfileId}",
        EndpointUpdate u => $"ep {u.Key.WorkloadId}{(u.State == EndpointState.Inactive ? " inactive" : "")} {u.ProfileIds}",
        EndpointRemove u => $"unep {u.Key.WorkloadId}",
        PoolUpdate u => $"pool {u.Key.Cidr}",
        PoolRemove u => $"unpool {u.Key.Cidr}",
        RemoteEndpointRouteUpdate u => $"route {u.Endpoint.WorkloadId} {u.Destinations} via {u.HostIp}",
        RemoteEndpointRouteRemove u => $"unroute {u.Endpoint.WorkloadId}",
        Felix.Agent.Calculation.InSync => "in sync",
        _ => update.GetType().Name,
    };
}
