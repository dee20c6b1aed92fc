using System.Text;
using Felix.Agent.Calculation;
using Felix.Agent.Datastore;
using Felix.Agent.Model;
using Felix.Agent.Policy;
using Felix.Dataplane.Iptables;

namespace Felix.Agent.Tests.Policy;

/// <summary>
/// The seed article's example end to end: its etcd values go through the datastore sync, the
/// calculation and the renderer, and come out as the chains the article shows on node1 — a packet
/// to 192.168.0.1 goes <c>FORWARD</c> → <c>felix-FORWARD</c> → <c>felix-TO-ENDPOINT</c> →
/// <c>felix-to-2466cece7bc</c> → <c>felix-p-db-i</c>.
/// </summary>
public class SeedPolicyGoldenTests
{
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

    [Fact]
    public void Node1_renders_the_articles_chains()
    {
        var text = RenderNode1(IpVersion.V4);

        Golden.Matches("seed.v4.rules", text);
        Assert.Contains("-I FORWARD 1 -j felix-FORWARD\n", text, StringComparison.Ordinal);
        Assert.Contains("-A felix-FORWARD -m comment --comment \"Inbound policy of the receiving endpoint\" -o cali+ -j felix-TO-ENDPOINT\n", text, StringComparison.Ordinal);
        Assert.Contains("-A felix-TO-ENDPOINT -o cali2466cece7bc -g felix-to-2466cece7bc\n", text, StringComparison.Ordinal);
        Assert.Contains("-A felix-to-2466cece7bc -j felix-p-db-i\n", text, StringComparison.Ordinal);
        Assert.Contains("-A felix-p-db-i -m set --match-set felix-v4-db src -j MARK", text, StringComparison.Ordinal);
        Assert.Contains("-A felix-p-db-i -p tcp -m set --match-set felix-v4-db-users src -m multiport --dports 3306 -j MARK", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Node1_renders_the_same_shape_for_ipv6_with_v6_sets()
    {
        var text = RenderNode1(IpVersion.V6);

        Golden.Matches("seed.v6.rules", text);
        Assert.Contains("-A felix-p-db-i -m set --match-set felix-v6-db src -j MARK", text, StringComparison.Ordinal);
        Assert.DoesNotContain("felix-v4-", text, StringComparison.Ordinal);
    }

    private static string RenderNode1(IpVersion version)
    {
        var sync = new SyncState("node1", new ModelOptions("cali"));
        sync.LoadSnapshot(Etcd.Select(e => (e.Key, (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(e.Value), 1L)));
        var graph = new CalculationGraph("node1", remoteWorkloadRoutes: false);
        foreach (var update in sync.TakeUpdates())
        {
            graph.OnUpdate(update);
        }
        var renderer = new PolicyRenderer(version, new PolicyConfig("cali", 0xff000000));
        foreach (var update in graph.Flush())
        {
            renderer.OnUpdate(update);
        }
        renderer.Render();
        var text = new StringBuilder();
        foreach (var table in new[] { TableName.Filter, TableName.Nat })
        {
            ChainReferences.AssertClosed(renderer.Chains(table), PolicyRenderer.Hooks(table));
            text.Append(RestoreScript.Render(table, renderer.Chains(table), PolicyRenderer.Hooks(table)));
        }
        return text.ToString();
    }
}
