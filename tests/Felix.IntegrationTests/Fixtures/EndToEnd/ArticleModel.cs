using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Felix.IntegrationTests.Fixtures.EndToEnd;

/// <summary>
/// The seed article's web → app → db example (../shared/seeds/000_299ad1aa26d60403.txt) as the
/// Calico v1 datastore holds it, for workloads of a <see cref="Cluster"/>: the three profiles with
/// the article's final rules (db admits <c>db-users</c> on 3306), every profile's own tag, the
/// tag <c>db-users</c> on app, one profile that has nothing to do with the others, the hosts'
/// <c>bird_ip</c>, the pools and one endpoint per workload. <see cref="Allows"/> is the article's
/// policy written out by hand from its text, not derived from the JSON, so the two check each
/// other: whatever the agent makes of the JSON must give the connectivity <see cref="Expected"/>
/// describes. Tags can be added and removed, as <c>calicoctl profile app tag add db-users</c> does.
/// </summary>
public sealed class ArticleModel
{
    public const string Web = "web";
    public const string App = "app";
    public const string Db = "db";

    /// <summary>A profile no other refers to: it admits only its own tag, and nothing of it may change the others.</summary>
    public const string Unrelated = "batch";

    public const string DbUsers = "db-users";

    /// <summary>The orchestrator id of every endpoint (calico-docker's).</summary>
    public const string Orchestrator = "docker";

    private const string AllowAllOut = """ "outbound_rules": [ { "action": "allow" } ] """;

    // The article's JSON, rule for rule (its db-rule.json after the src_tag db-users change).
    private static readonly Dictionary<string, string> RulesJson = new(StringComparer.Ordinal)
    {
        [Web] = $$"""{ "inbound_rules": [ { "action": "allow", "src_tag": "web" }, { "action": "allow", "protocol": "tcp", "dst_ports": [80, 443] } ], {{AllowAllOut}} }""",
        [App] = $$"""{ "inbound_rules": [ { "action": "allow", "src_tag": "app" }, { "action": "allow", "src_tag": "web" } ], {{AllowAllOut}} }""",
        [Db] = $$"""{ "inbound_rules": [ { "action": "allow", "src_tag": "db" }, { "action": "allow", "src_tag": "db-users", "protocol": "tcp", "dst_ports": [3306] } ], {{AllowAllOut}} }""",
        [Unrelated] = $$"""{ "inbound_rules": [ { "action": "allow", "src_tag": "batch" } ], {{AllowAllOut}} }""",
    };

    private static readonly JsonSerializerOptions EndpointJsonOptions = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private readonly Dictionary<string, List<string>> _tags = new(StringComparer.Ordinal)
    {
        [Web] = [Web],
        [App] = [App, DbUsers],
        [Db] = [Db],
        [Unrelated] = [Unrelated],
    };

    private readonly List<ClusterHost> _hosts;
    private readonly List<(ClusterWorkload Workload, string Profile)> _endpoints;
    private readonly SortedDictionary<string, string> _config = new(StringComparer.Ordinal)
    {
        // What calicoctl writes when it sets up the datastore; the agent's default too.
        ["/calico/v1/config/InterfacePrefix"] = "cali",
    };

    /// <summary>A model of <paramref name="hosts"/> with one endpoint per workload, in the given profile.</summary>
    public ArticleModel(IEnumerable<ClusterHost> hosts, IEnumerable<(ClusterWorkload Workload, string Profile)> endpoints)
    {
        _hosts = [.. hosts];
        _endpoints = [.. endpoints];
        foreach (var (workload, profile) in _endpoints)
        {
            if (!RulesJson.ContainsKey(profile))
            {
                throw new ArgumentException($"{profile} is not a profile of the article", nameof(endpoints));
            }

            if (!_hosts.Contains(workload.Host))
            {
                throw new ArgumentException($"{workload.Name}'s host {workload.Host.Name} is not among the hosts", nameof(endpoints));
            }
        }
    }

    /// <summary>The four profiles, in the order they are written.</summary>
    public static IReadOnlyList<string> Profiles { get; } = [Web, App, Db, Unrelated];

    /// <summary>The ports the expected matrix covers.</summary>
    public static IReadOnlyList<int> Ports => Listener.ArticlePorts;

    public IReadOnlyList<ClusterWorkload> Workloads => [.. _endpoints.Select(e => e.Workload)];

    /// <summary>
    /// The default layout on a cluster of at least two hosts, spreading each profile over hosts so
    /// both same-host and cross-host paths are exercised: host1 runs web1 and db1 (the article's
    /// container1 is db), the last host runs app1, web2 and batch1.
    /// </summary>
    public static async Task<ArticleModel> PlaceAsync(Cluster cluster, bool ipv6 = true)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        if (cluster.Hosts.Count < 2)
        {
            throw new ArgumentException("the article's layout needs two hosts", nameof(cluster));
        }

        var (first, last) = (cluster.Hosts[0], cluster.Hosts[^1]);
        (ClusterHost Host, string Name, string Profile)[] layout =
        [
            (first, "web1", Web), (first, "db1", Db), (last, "app1", App), (last, "web2", Web), (last, "batch1", Unrelated),
        ];
        var endpoints = new List<(ClusterWorkload, string)>();
        foreach (var (host, name, profile) in layout)
        {
            endpoints.Add((await cluster.AddWorkloadAsync(host, name, ipv6), profile));
        }

        return new ArticleModel(cluster.Hosts, endpoints);
    }

    public string ProfileOf(ClusterWorkload workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        return _endpoints.Single(e => e.Workload.Name == workload.Name).Profile;
    }

    public IReadOnlyList<string> TagsOf(string profile) => [.. _tags[profile]];

    /// <summary>
    /// Every key and value of the model, <c>/calico/v1/Ready</c> last so an agent that is already
    /// watching starts programming only once the rest is there.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> Snapshot()
    {
        var pairs = new List<KeyValuePair<string, string>>(_config);
        pairs.AddRange(_hosts.Select(host => Pair($"/calico/v1/host/{host.Name}/bird_ip", host.Address.ToString())));
        pairs.Add(Pair($"/calico/v1/ipam/v4/pool/{PoolKey(Cluster.WorkloadPool)}", PoolJson(Cluster.WorkloadPool)));
        if (_endpoints.Any(e => e.Workload.Has(AddressFamily.InterNetworkV6)))
        {
            pairs.Add(Pair($"/calico/v1/ipam/v6/pool/{PoolKey(Cluster.WorkloadPoolV6)}", PoolJson(Cluster.WorkloadPoolV6)));
        }

        foreach (var profile in Profiles)
        {
            pairs.Add(Pair(RulesKey(profile), RulesJson[profile]));
            pairs.Add(TagsPair(profile));
        }

        pairs.AddRange(_endpoints.Select(e => Pair(EndpointKey(e.Workload), EndpointJson(e.Workload, e.Profile))));
        pairs.Add(Pair("/calico/v1/Ready", "true"));
        return pairs;
    }

    /// <summary>Sets a global config value, or <paramref name="host"/>'s own; returns the pair to write.</summary>
    public KeyValuePair<string, string> SetConfig(string name, string value, ClusterHost? host = null)
    {
        var key = host is null ? $"/calico/v1/config/{name}" : $"/calico/v1/host/{host.Name}/config/{name}";
        _config[key] = value;
        return Pair(key, value);
    }

    /// <summary>Adds <paramref name="tag"/> to <paramref name="profile"/>'s tags; returns the tags pair to write.</summary>
    public KeyValuePair<string, string> AddTag(string profile, string tag)
    {
        var tags = _tags[profile];
        if (!tags.Contains(tag))
        {
            tags.Add(tag);
        }

        return TagsPair(profile);
    }

    /// <summary>Removes <paramref name="tag"/> from <paramref name="profile"/>'s tags; returns the tags pair to write.</summary>
    public KeyValuePair<string, string> RemoveTag(string profile, string tag)
    {
        _tags[profile].Remove(tag);
        return TagsPair(profile);
    }

    /// <summary>
    /// The article's policy, written from its text: WEB exposes 80 and 443 to everyone and admits
    /// its own tag; APP admits its own tag and web; DB admits its own tag, and <c>db-users</c> on
    /// 3306 only; the unrelated profile admits its own tag. Every profile allows all outbound
    /// traffic, so only the destination's inbound rules decide. A source "has" a tag when its
    /// profile's tags (as they are now) include it.
    /// </summary>
    public bool Allows(ClusterWorkload from, ClusterWorkload to, int port)
    {
        var sourceTags = _tags[ProfileOf(from)];
        bool From(string tag) => sourceTags.Contains(tag);
        return ProfileOf(to) switch
        {
            Web => From(Web) || port is 80 or 443,
            App => From(App) || From(Web),
            Db => From(Db) || (From(DbUsers) && port == 3306),
            Unrelated => From(Unrelated),
            var other => throw new InvalidOperationException($"no policy for profile {other}"),
        };
    }

    /// <summary>The expected matrix between every pair of the model's workloads, on <paramref name="ports"/> (the article's by default).</summary>
    public ExpectedConnectivity Expected(IEnumerable<int>? ports = null)
    {
        var byName = _endpoints.ToDictionary(e => e.Workload.Name, e => e.Workload);
        var names = byName.Keys.ToList();
        return ExpectedConnectivity.Build(names, names, ports ?? Ports,
            cell => Allows(byName[cell.From], byName[cell.To], cell.Port));
    }

    public static string RulesKey(string profile) => $"/calico/v1/policy/profile/{profile}/rules";

    public static string TagsKey(string profile) => $"/calico/v1/policy/profile/{profile}/tags";

    /// <summary>The endpoint id is the interface name without <c>cali</c>, as the article's chain <c>felix-to-2466cece7bc</c> suggests.</summary>
    public static string EndpointKey(ClusterWorkload workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        return $"/calico/v1/host/{workload.Host.Name}/workload/{Orchestrator}/{workload.Name}/endpoint/{EndpointId(workload)}";
    }

    /// <summary>An active endpoint in <paramref name="profile"/> for <paramref name="workload"/>, as the CNI plugin writes it.</summary>
    public static string EndpointJson(ClusterWorkload workload, string profile, bool active = true)
    {
        ArgumentNullException.ThrowIfNull(workload);
        var ipv6 = workload.Ipv6Address;
        return JsonSerializer.Serialize(
            new EndpointValue(
                active ? "active" : "inactive",
                workload.HostInterface,
                workload.Mac,
                [profile],
                [workload.Workload.Cidr],
                ipv6 is null ? [] : [$"{ipv6}/128"],
                ipv6 is null ? null : NetworkNamespaces.Ipv6Gateway.ToString()),
            EndpointJsonOptions);
    }

    private static string EndpointId(ClusterWorkload workload) => workload.HostInterface["cali".Length..];

    private KeyValuePair<string, string> TagsPair(string profile) =>
        Pair(TagsKey(profile), JsonSerializer.Serialize(_tags[profile]));

    private static string PoolKey(IPNetwork pool) => $"{pool.BaseAddress}-{pool.PrefixLength.ToString(CultureInfo.InvariantCulture)}";

    // No masquerade: the article's point is that workloads talk with their own addresses, no NAT.
    private static string PoolJson(IPNetwork pool) => $$"""{"cidr":"{{pool}}","masquerade":false}""";

    private static KeyValuePair<string, string> Pair(string key, string value) => new(key, value);

    private sealed record EndpointValue(
        [property: JsonPropertyName("state")] string State,
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("mac")] string Mac,
        [property: JsonPropertyName("profile_ids")] string[] ProfileIds,
        [property: JsonPropertyName("ipv4_nets")] string[] Ipv4Nets,
        [property: JsonPropertyName("ipv6_nets")] string[] Ipv6Nets,
        [property: JsonPropertyName("ipv6_gateway")] string? Ipv6Gateway);
}
