using System.Net;
using System.Text;
using Felix.Agent.Calculation;
using Felix.Agent.Datastore;
using Felix.Agent.Model;

namespace Felix.Agent.Tests.Calculation;

/// <summary>
/// The seed article's web → app → db example, from the etcd JSON through the datastore sync into
/// the calculation: db's rule allowing <c>src_tag: db-users</c> on 3306 needs the set
/// <c>felix-v4-db-users</c> on node1, and it must hold the app container on node2.
/// </summary>
public class SeedExampleTests
{
    private static readonly (string Key, string Value)[] Etcd =
    [
        ("/calico/v1/Ready", "true"),
        .. SeedArticle.Profiles,
        ("/calico/v1/host/node1/workload/docker/db1/endpoint/2466cece7bc",
            """{"state":"active","name":"cali2466cece7bc","mac":"96:c4:86:4d:d7:2c","profile_ids":["db"],"ipv4_nets":["192.168.0.1/32"],"ipv6_nets":[]}"""),
        ("/calico/v1/host/node2/workload/docker/app1/endpoint/7a1b2c3d4e5",
            """{"state":"active","name":"cali7a1b2c3d4e5","mac":"96:c4:86:4d:d7:2d","profile_ids":["app"],"ipv4_nets":["192.168.1.1/32"],"ipv6_nets":[]}"""),
        ("/calico/v1/host/node2/workload/docker/web1/endpoint/8a1b2c3d4e5",
            """{"state":"active","name":"cali8a1b2c3d4e5","mac":"96:c4:86:4d:d7:2e","profile_ids":["web"],"ipv4_nets":["192.168.1.2/32"],"ipv6_nets":[]}"""),
    ];

    [Fact]
    public void Node1_db_endpoint_gets_the_db_users_set_holding_the_remote_app_endpoint()
    {
        var sync = new SyncState("node1", new ModelOptions("cali"));
        sync.LoadSnapshot(Etcd.Select(e => (e.Key, (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(e.Value), 1L)));
        var graph = new CalculationGraph("node1", remoteWorkloadRoutes: false);
        foreach (var update in sync.TakeUpdates())
        {
            graph.OnUpdate(update);
        }

        var output = graph.Flush();

        Assert.Equal(
            [
                "set db/v4 [192.168.0.1]", "set db/v6 []",
                "set db-users/v4 [192.168.1.1]", "set db-users/v6 []",
                "profile db", "ep db1 [db]", "in sync",
            ],
            Cluster.Describe(output));
        var dbUsers = output.OfType<IpSetUpdate>().Single(s => s.Id == new IpSetId("db-users", IpVersion.V4));
        Assert.Equal([IPAddress.Parse("192.168.1.1")], dbUsers.Members);
        var profile = output.OfType<ProfileUpdate>().Single();
        Assert.Equal(new PortRange(3306), Assert.Single(profile.Rules!.Inbound[1].Match.DstPorts));
        Assert.Equal((1, 1, 2), (graph.ActiveLocalEndpoints, graph.ActiveLocalProfiles, graph.ActiveTags));
    }
}
