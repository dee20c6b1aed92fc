using System.Text;
using Felix.Agent.Calculation;
using Felix.Agent.Datastore;
using Felix.Agent.Model;

namespace Felix.Agent.Tests.Dataplane;

/// <summary>
/// The seed article's cluster as node1's calculation sees it — etcd values through the datastore
/// sync and the calculation graph — so the driver is fed exactly the batches the agent would feed
/// it: db's container on node1 (<c>cali2466cece7bc</c>, 192.168.0.1), app's on node2, and a
/// masquerading pool.
/// </summary>
internal sealed class SeedCluster
{
    public const string DbInterface = "cali2466cece7bc";
    public const string DbRulesKey = "/calico/v1/policy/profile/db/rules";

    public static readonly WorkloadEndpointKey DbEndpoint = new(DriverHarness.Hostname, "docker", "container1", "2466cece7bc");

    private static readonly (string Key, string Value)[] Etcd =
    [
        ("/calico/v1/Ready", "true"),
        .. SeedArticle.Profiles,
        ("/calico/v1/ipam/v4/pool/192.168.0.0-16", """{"cidr":"192.168.0.0/16","masquerade":true}"""),
        ("/calico/v1/host/node1/workload/docker/container1/endpoint/2466cece7bc",
            """{"state":"active","name":"cali2466cece7bc","mac":"96:c4:86:4d:d7:2c","profile_ids":["db"],"ipv4_nets":["192.168.0.1/32"],"ipv6_nets":[]}"""),
        ("/calico/v1/host/node2/workload/docker/container2/endpoint/ea3aaf5a7be",
            """{"state":"active","name":"caliea3aaf5a7be","mac":"96:c4:86:4d:d7:2d","profile_ids":["app"],"ipv4_nets":["192.168.0.2/32"],"ipv6_nets":[]}"""),
    ];

    private readonly SyncState _sync = new(DriverHarness.Hostname, new ModelOptions("cali"));
    private readonly CalculationGraph _graph = new(DriverHarness.Hostname, remoteWorkloadRoutes: false);
    private long _revision = 1;

    /// <summary>The first batch: the whole snapshot, ending in <see cref="InSync"/>.</summary>
    public IReadOnlyList<DataplaneUpdate> Snapshot()
    {
        _sync.LoadSnapshot(Etcd.Select(e => (e.Key, (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(e.Value), _revision)));
        return Flush();
    }

    /// <summary>The batch one watch event gives.</summary>
    public IReadOnlyList<DataplaneUpdate> Put(string key, string json)
    {
        _sync.Apply(key, Encoding.UTF8.GetBytes(json), ++_revision);
        return Flush();
    }

    private IReadOnlyList<DataplaneUpdate> Flush()
    {
        foreach (var update in _sync.TakeUpdates())
        {
            _graph.OnUpdate(update);
        }
        return _graph.Flush();
    }
}
