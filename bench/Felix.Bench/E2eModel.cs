using System.Net;
using System.Text;
using Etcdserverpb;
using Felix.Agent.Datastore.Etcd;
using Google.Protobuf;

namespace Felix.Bench;

/// <summary>
/// The end-to-end bench's cluster, as etcd holds it (Calico v1 layout, DESIGN.md §2) and as the host
/// has it: the seed article's web, app and db profiles, endpoint <c>e</c> on this host with one of
/// them by <c>e % 3</c>, its veth <c>cali…</c> (peer <c>veth…</c>, both up, in the bench namespace),
/// and one <c>/32</c> each. Endpoint 0 also carries <see cref="Canary"/>, the profile whose tags
/// the set samples change: adding <see cref="SetTag"/> to it moves endpoint 0's address (and
/// only that) into <see cref="TagSet"/>, which db's rules use. The new endpoints of the chain
/// samples are numbered from <see cref="FirstSample"/>, beyond every size's existing ones.
/// The cluster around them: endpoint <c>r</c> of <c>M</c> remote ones on host <c>h{r / 100}</c>
/// (its <c>bird_ip</c> on <see cref="LanLink"/>'s subnet, so RemoteWorkloadRoutes can route to it),
/// and <c>P</c> filler profiles <c>p{k}</c>, each admitting its own tag; every endpoint, local or
/// remote, carries one of them (<c>p{e % P}</c>) besides its seed profile, so the active profiles,
/// tags and sets grow with <c>P</c> and the sets' members with <c>M</c>.
/// </summary>
internal static class E2eModel
{
    public const string Host = "benchhost";
    public const string Canary = "canary";
    public const string SetTag = "db-users";
    public const string TagSet = "felix-v4-db-users";
    public const int FirstSample = 0x100000;
    public const string LanLink = "benchlan";
    public const string LanAddress = "172.16.0.1/12";
    public const string RuleChangeProfile = "db";
    public const string RuleChangeChain = "felix-p-db-i";
    private const int EndpointsPerRemoteHost = 100;

    private const string AllowAllOut = """ "outbound_rules": [ { "action": "allow" } ] """;

    private static readonly string[] Profiles = ["web", "app", "db"];

    public static string InterfaceName(int e) => $"cali{e:x11}";

    public static string ChainSuffix(int e) => $"{e:x11}";

    /// <summary>Endpoint e's address: 10.0.0.1 onwards (never a .0 network address at e = 0).</summary>
    public static IPAddress Address(int e) => new([10, (byte)((e + 1) >> 16), (byte)((e + 1) >> 8), (byte)(e + 1)]);

    public static string Key(int e) => $"/calico/v1/host/{Host}/workload/k8s/pod-{e}/endpoint/eth0";

    public static string Endpoint(int e, int fillers)
    {
        var profiles = e == 0 ? $"\"{Profiles[0]}\",\"{Canary}\"" : $"\"{Profiles[e % Profiles.Length]}\"";
        // A sample endpoint takes p0, which endpoint 0 keeps active: its chain then jumps only to chains that
        // outlive it, so the floor can restore a copy of it (and the figure is its own chains, not a profile's too).
        var filler = e >= FirstSample ? 0 : e;
        return EndpointValue(InterfaceName(e), e, fillers == 0 ? profiles : $"{profiles},\"p{filler % fillers}\"", Address(e));
    }

    private static string EndpointValue(string name, int e, string profiles, IPAddress address) =>
        $$"""{"state":"active","name":"{{name}}","mac":"96:c4:{{(e >> 24) & 0xff:x2}}:{{(e >> 16) & 0xff:x2}}:{{(e >> 8) & 0xff:x2}}:{{e & 0xff:x2}}","profile_ids":[{{profiles}}],"ipv4_nets":["{{address}}/32"],"ipv6_nets":[]}""";

    /// <summary>Remote endpoint r's address: 10.64.0.1 onwards, clear of the local ones.</summary>
    public static IPAddress RemoteAddress(int r) => new([10, (byte)(64 + ((r + 1) >> 16)), (byte)((r + 1) >> 8), (byte)(r + 1)]);

    /// <summary>
    /// The other hosts (their <c>bird_ip</c>s, on <see cref="LanAddress"/>'s subnet) and their
    /// <paramref name="count"/> endpoints, each with a seed profile and a filler one.
    /// </summary>
    public static IEnumerable<(string Key, string Value)> RemoteEndpoints(int count, int fillers)
    {
        for (var h = 0; h * EndpointsPerRemoteHost < count; h++)
        {
            yield return ($"/calico/v1/host/h{h}/bird_ip", $"172.17.{(h + 1) >> 8}.{(h + 1) & 0xff}");
        }
        for (var r = 0; r < count; r++)
        {
            var profiles = $"\"{Profiles[r % Profiles.Length]}\"" + (fillers == 0 ? "" : $",\"p{r % fillers}\"");
            yield return ($"/calico/v1/host/h{r / EndpointsPerRemoteHost}/workload/k8s/rpod-{r}/endpoint/eth0",
                EndpointValue($"cali{r:x11}", r, profiles, RemoteAddress(r)));
        }
    }

    /// <summary>The filler profiles <c>p0…</c>: each admits its own tag in, everything out.</summary>
    public static IEnumerable<(string Key, string Value)> FillerProfiles(int count) =>
        Enumerable.Range(0, count).SelectMany(k => new[]
        {
            ($"/calico/v1/policy/profile/p{k}/rules", $$"""{ "inbound_rules": [ { "action": "allow", "src_tag": "p{{k}}" } ], {{AllowAllOut}} }"""),
            ($"/calico/v1/policy/profile/p{k}/tags", $"""["p{k}"]"""),
        });

    public static string RuleChangeKey => $"/calico/v1/policy/profile/{RuleChangeProfile}/rules";

    /// <summary>db's rules, with a log rule carrying <paramref name="logPrefix"/> at the end when given: a change to one profile's chain.</summary>
    public static string DbRules(string? logPrefix) =>
        $$"""{ "inbound_rules": [ { "action": "allow", "src_tag": "db" }, { "action": "allow", "src_tag": "db-users", "protocol": "tcp", "dst_ports": [3306] }{{(logPrefix is null ? "" : $$""", { "action": "log", "log_prefix": "{{logPrefix}}" }""")}} ], {{AllowAllOut}} }""";

    public static string CanaryTagsKey => $"/calico/v1/policy/profile/{Canary}/tags";

    /// <summary>The canary's tags: its own, plus <see cref="SetTag"/> when its endpoint should be in <see cref="TagSet"/>.</summary>
    public static string CanaryTags(bool inSet) => inSet ? $"""["{Canary}","{SetTag}"]""" : $"""["{Canary}"]""";

    /// <summary>Ready, and the profiles: the seed article's (../shared/seeds), and the canary, which admits its own tag.</summary>
    public static IEnumerable<(string Key, string Value)> Cluster() =>
    [
        ("/calico/v1/Ready", "true"),
        ("/calico/v1/policy/profile/web/rules",
            $$"""{ "inbound_rules": [ { "action": "allow", "src_tag": "web" }, { "action": "allow", "protocol": "tcp", "dst_ports": [80, 443] } ], {{AllowAllOut}} }"""),
        ("/calico/v1/policy/profile/web/tags", """["web"]"""),
        ("/calico/v1/policy/profile/app/rules",
            $$"""{ "inbound_rules": [ { "action": "allow", "src_tag": "app" }, { "action": "allow", "src_tag": "web" } ], {{AllowAllOut}} }"""),
        ("/calico/v1/policy/profile/app/tags", """["app", "db-users"]"""),
        (RuleChangeKey, DbRules(null)),
        ("/calico/v1/policy/profile/db/tags", """["db"]"""),
        ($"/calico/v1/policy/profile/{Canary}/rules",
            $$"""{ "inbound_rules": [ { "action": "allow", "src_tag": "{{Canary}}" } ], {{AllowAllOut}} }"""),
        (CanaryTagsKey, CanaryTags(inSet: false)),
    ];

    public static IEnumerable<(string Key, string Value)> Endpoints(int from, int to, int fillers) =>
        Enumerable.Range(from, to - from).Select(e => (Key(e), Endpoint(e, fillers)));

    /// <summary>One <c>ip -batch</c> script creating the endpoints' veths and setting both ends up.</summary>
    public static string Veths(IEnumerable<int> endpoints)
    {
        var script = new StringBuilder();
        var list = endpoints.ToList();
        foreach (var e in list)
        {
            script.Append($"link add {InterfaceName(e)} type veth peer name veth{e:x11}\n");
        }
        // Both ends up: a veth has a carrier only when its peer is up too, and the agent routes only through a link that is up.
        foreach (var e in list)
        {
            script.Append($"link set {InterfaceName(e)} up\nlink set veth{e:x11} up\n");
        }
        return script.ToString();
    }

    /// <summary>Bulk load through transactions of 128 puts (etcd's default <c>--max-txn-ops</c>).</summary>
    public static async Task LoadAsync(EtcdConnection connection, IEnumerable<(string Key, string Value)> puts)
    {
        var kv = new KV.KVClient(connection.Current);
        foreach (var chunk in puts.Chunk(128))
        {
            var txn = new TxnRequest();
            txn.Success.AddRange(chunk.Select(p => new RequestOp
            {
                RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(p.Key), Value = ByteString.CopyFromUtf8(p.Value) },
            }));
            await kv.TxnAsync(txn);
        }
    }
}
