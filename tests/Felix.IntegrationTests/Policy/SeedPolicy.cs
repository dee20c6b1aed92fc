using System.Net;
using Felix.Agent.Calculation;
using Felix.Agent.Model;
using Felix.Agent.Policy;
using Felix.Dataplane;

namespace Felix.IntegrationTests.Policy;

/// <summary>
/// The seed article's web → app → db example as node1's dataplane sees it, from the article's
/// etcd JSON: db allows itself and <c>db-users</c> on tcp 3306, web exposes 80 and 443, app allows
/// itself and web. Each profile has one local endpoint here (the article spreads them over two
/// hosts), so all three profiles' chains are rendered; the db container is the article's
/// <c>cali2466cece7bc</c> at 192.168.0.1, with an IPv6 address too so both families have
/// real endpoint chains, and the pools are NAT-outgoing.
/// </summary>
public static class SeedPolicy
{
    public const string DbInterface = "cali2466cece7bc";

    private const string AllowAllOut = """ "outbound_rules": [ { "action": "allow" } ] """;

    private static readonly (string Id, string Json)[] Profiles =
    [
        ("db", $$"""{ "id": "db", "inbound_rules": [ { "action": "allow", "src_tag": "db" }, { "action": "allow", "src_tag": "db-users", "protocol": "tcp", "dst_ports": [3306] } ], {{AllowAllOut}} }"""),
        ("web", $$"""{ "id": "web", "inbound_rules": [ { "action": "allow", "src_tag": "web" }, { "action": "allow", "protocol": "tcp", "dst_ports": [80, 443] } ], {{AllowAllOut}} }"""),
        ("app", $$"""{ "id": "app", "inbound_rules": [ { "action": "allow", "src_tag": "app" }, { "action": "allow", "src_tag": "web" } ], {{AllowAllOut}} }"""),
    ];

    private static readonly (string Workload, string Json)[] Endpoints =
    [
        ("db1", $$"""{"state":"active","name":"{{DbInterface}}","mac":"1e:48:3e:ec:71:52","profile_ids":["db"],"ipv4_nets":["192.168.0.1/32"],"ipv6_nets":["fd80:24e2:f998:72d6::1/128"]}"""),
        ("app1", """{"state":"active","name":"caliea3aaf5a7be","mac":"1e:48:3e:ec:71:53","profile_ids":["app"],"ipv4_nets":["192.168.0.2/32"],"ipv6_nets":[]}"""),
        ("web1", """{"state":"active","name":"cali8a1b2c3d4e5","profile_ids":["web"],"ipv4_nets":["192.168.0.3/32"],"ipv6_nets":["fd80:24e2:f998:72d6::3/128"]}"""),
    ];

    private static readonly (IpVersion Version, string Cidr, string Json)[] Pools =
    [
        (IpVersion.V4, "192.168.0.0/16", """{"cidr":"192.168.0.0/16","masquerade":true}"""),
        (IpVersion.V6, "fd80:24e2:f998:72d6::/64", """{"cidr":"fd80:24e2:f998:72d6::/64","masquerade":true}"""),
    ];

    public static PolicyConfig Config { get; } = new("cali", 0x1000000);

    public static IEnumerable<DataplaneUpdate> Updates()
    {
        foreach (var (id, json) in Profiles)
        {
            yield return new ProfileUpdate(id, PolicyScripts.Parse<ProfileRules>(new ProfileRulesKey(id), json, PolicyScripts.CaliOptions));
        }
        foreach (var (workload, json) in Endpoints)
        {
            var key = new WorkloadEndpointKey("node1", "docker", workload, "eth1");
            yield return PolicyScripts.ToUpdate(key, PolicyScripts.Parse<WorkloadEndpoint>(key, json, PolicyScripts.CaliOptions));
        }
        foreach (var (version, cidr, json) in Pools)
        {
            var key = new IpPoolKey(version, IPNetwork.Parse(cidr));
            yield return new PoolUpdate(key, PolicyScripts.Parse<IpPool>(key, json, PolicyScripts.CaliOptions));
        }
    }

    public static PolicyRenderer Renderer(IpVersion version) => PolicyScripts.Rendered(version, Config, Updates());
}
