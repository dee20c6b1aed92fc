using System.Net;
using System.Text;
using Felix.Agent.Calculation;
using Felix.Agent.Datastore;
using Felix.Agent.Model;
using Felix.Dataplane;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;

namespace Felix.IntegrationTests.FixtureTests;

/// <summary>
/// Proves the article writer writes what the agent reads: every key and value of the model goes
/// through the agent's own key and value parsers and its sync and calculation, which give host1's
/// db endpoint the <c>db-users</c> set holding app1; and the expected matrix is the article's. The
/// workloads here are records only (no namespaces): nothing in this class touches the kernel.
/// </summary>
public sealed class ArticleModelTests
{
    private static readonly ModelOptions Options = new("cali");
    private static readonly ClusterHost Host1 = FakeHost(1);
    private static readonly ClusterHost Host2 = FakeHost(2);
    private static readonly ClusterWorkload Web1 = FakeWorkload("web1", Host1, 1);
    private static readonly ClusterWorkload Db1 = FakeWorkload("db1", Host1, 2);
    private static readonly ClusterWorkload App1 = FakeWorkload("app1", Host2, 3);
    private static readonly ClusterWorkload Web2 = FakeWorkload("web2", Host2, 4, ipv6: false);
    private static readonly ClusterWorkload Batch1 = FakeWorkload("batch1", Host2, 5);

    [Fact]
    public void Every_key_and_value_parses_with_the_agents_parsers_and_Ready_comes_last()
    {
        var snapshot = Model().Snapshot();

        var parsed = snapshot.Select(pair => (pair.Key, Value: Parse(pair.Key, pair.Value))).ToList();

        Assert.Equal("/calico/v1/Ready", snapshot[^1].Key);
        Assert.Equal(new ReadyFlag(true), parsed[^1].Value);
        Assert.Equal(snapshot.Count, snapshot.Select(pair => pair.Key).Distinct().Count());
        Assert.Equal(
            [
                (KeyKinds.Config, 1), (KeyKinds.HostIp, 2), (KeyKinds.Pool, 2), (KeyKinds.ProfileRules, 4),
                (KeyKinds.ProfileTags, 4), (KeyKinds.Endpoint, 5), (KeyKinds.Ready, 1),
            ],
            snapshot.GroupBy(pair => Key(pair.Key).Kind).Select(g => (g.Key, g.Count())));

        var db = Assert.IsType<ProfileRules>(Value(parsed, "/calico/v1/policy/profile/db/rules"));
        Assert.Equal(
            new ProfileRules(
                [
                    new Rule { Match = new RuleMatch { SrcTag = "db" } },
                    new Rule { Match = new RuleMatch { SrcTag = "db-users", Protocol = Protocol.Tcp, DstPorts = [new PortRange(3306)] } },
                ],
                [new Rule()]),
            db);
        Assert.Equal(new ProfileTags(["app", "db-users"]), Value(parsed, "/calico/v1/policy/profile/app/tags"));
        Assert.Equal(new HostIp(IPAddress.Parse("10.99.0.2")), Value(parsed, "/calico/v1/host/host2/bird_ip"));
        Assert.Equal(new IpPool(IPNetwork.Parse("192.168.0.0/16"), Masquerade: false), Value(parsed, "/calico/v1/ipam/v4/pool/192.168.0.0-16"));
        Assert.Equal(
            new WorkloadEndpoint(EndpointState.Active, Db1.HostInterface, Db1.Mac, ["db"], [IPNetwork.Parse("192.168.0.2/32")],
                [IPNetwork.Parse("fd80:24e2:f998:72d6::2/128")], null, IPAddress.Parse("fe80::1")),
            Value(parsed, $"/calico/v1/host/host1/workload/docker/db1/endpoint/{Db1.HostInterface[4..]}"));
        var web2 = Assert.IsType<WorkloadEndpoint>(Value(parsed, ArticleModel.EndpointKey(Web2)));
        Assert.Empty(web2.Ipv6Nets);
        Assert.Null(web2.Ipv6Gateway);
    }

    [Fact]
    public void Through_the_agents_sync_host1_gets_db_users_holding_app1_until_the_tag_is_removed()
    {
        var model = Model();
        var sync = new SyncState("host1", Options);
        sync.LoadSnapshot(model.Snapshot().Select(pair => (pair.Key, Bytes(pair.Value), 1L)));
        var graph = new CalculationGraph("host1", remoteWorkloadRoutes: false);

        var first = Calculate(sync, graph);

        Assert.Empty(sync.TakeRejected());
        Assert.Equal([App1.Ipv4Address], SetMembers(first, "db-users", IpVersion.V4));
        Assert.Equal([App1.Ipv6Address!], SetMembers(first, "db-users", IpVersion.V6));
        Assert.Equal(["192.168.0.1", "192.168.0.4"], SetMembers(first, "web", IpVersion.V4).Select(a => a.ToString()).Order(StringComparer.Ordinal));
        Assert.Equal((2, 2), (graph.ActiveLocalEndpoints, graph.ActiveLocalProfiles));

        var (key, value) = model.RemoveTag(ArticleModel.App, ArticleModel.DbUsers);
        sync.Apply(key, Bytes(value), 2);
        var second = Calculate(sync, graph);

        Assert.Equal("""["app"]""", value);
        var change = Assert.Single(second, u => u is IpSetUpdate { Id.Tag: "db-users", Id.Version: IpVersion.V4 }
            or IpSetDeltaUpdate { Id.Tag: "db-users", Id.Version: IpVersion.V4 });
        Assert.True(
            change is IpSetUpdate { Members.Count: 0 } || (change is IpSetDeltaUpdate delta && delta.Removed.SequenceEqual([App1.Ipv4Address])),
            $"db-users still holds app1 after the tag was removed: {change}");
    }

    [Fact]
    public void Expected_matrix_is_the_articles_policy()
    {
        var expected = Model().Expected();

        Assert.Equal(ArticleModel.Ports, expected.Ports);
        Assert.Equal(5 * 4 * 5, expected.Count);
        // WEB: 80 and 443 to everyone, anything from web.
        Assert.Equal([80, 443], OpenPorts(expected, "app1", "web1"));
        Assert.Equal([80, 443], OpenPorts(expected, "batch1", "web2"));
        Assert.Equal(ArticleModel.Ports, OpenPorts(expected, "web2", "web1"));
        // APP: anything from web (and app); nothing from db or the unrelated profile.
        Assert.Equal(ArticleModel.Ports, OpenPorts(expected, "web1", "app1"));
        Assert.Empty(OpenPorts(expected, "db1", "app1"));
        Assert.Empty(OpenPorts(expected, "batch1", "app1"));
        // DB: 3306 from db-users (app), nothing from web.
        Assert.Equal([3306], OpenPorts(expected, "app1", "db1"));
        Assert.Empty(OpenPorts(expected, "web1", "db1"));
        // The unrelated profile admits only itself, and there is one of it.
        Assert.All(expected.Cells.Where(c => c.To == "batch1"), cell => Assert.False(expected.IsOpen(cell), cell.ToString()));
        // Per destination: each web from the other web (5) and three others (2 each), app from two webs, db from app.
        Assert.Equal((2 * (5 + (3 * 2))) + (2 * 5) + 1, expected.Cells.Count(expected.IsOpen));
    }

    [Fact]
    public void Tag_changes_move_the_expected_matrix_and_are_written_as_the_whole_tag_list()
    {
        var model = Model();
        var before = model.Expected();

        var removed = model.RemoveTag(ArticleModel.App, ArticleModel.DbUsers);
        var withoutTag = model.Expected();
        var added = model.AddTag(ArticleModel.Unrelated, ArticleModel.DbUsers);
        var batchAllowed = model.Expected();

        Assert.Equal(new KeyValuePair<string, string>("/calico/v1/policy/profile/app/tags", """["app"]"""), removed);
        Assert.Equal(new KeyValuePair<string, string>("/calico/v1/policy/profile/batch/tags", """["batch","db-users"]"""), added);
        Assert.Equal(
            [new Connection("app1", "db1", 3306)],
            before.Cells.Where(c => before.IsOpen(c) != withoutTag.IsOpen(c)));
        Assert.Equal(
            [new Connection("batch1", "db1", 3306)],
            withoutTag.Cells.Where(c => withoutTag.IsOpen(c) != batchAllowed.IsOpen(c)));
        Assert.Equal(["batch", "db-users"], model.TagsOf(ArticleModel.Unrelated));
    }

    private static ArticleModel Model() =>
        new([Host1, Host2],
            [(Web1, ArticleModel.Web), (Db1, ArticleModel.Db), (App1, ArticleModel.App), (Web2, ArticleModel.Web), (Batch1, ArticleModel.Unrelated)]);

    private static int[] OpenPorts(ExpectedConnectivity expected, string from, string to) =>
        [.. expected.Ports.Where(port => expected.IsOpen(new Connection(from, to, port)))];

    private static DatastoreKey Key(string path) => Assert.IsType<KnownKey>(KeyParser.Parse(path)).Key;

    private static DatastoreValue Parse(string path, string value)
    {
        var result = ValueParser.Parse(Key(path), Encoding.UTF8.GetBytes(value), Options);
        return result is ValidValue valid ? valid.Value : throw new Xunit.Sdk.XunitException($"{path} = {value}: {result}");
    }

    private static DatastoreValue Value(List<(string Key, DatastoreValue Value)> parsed, string key) =>
        parsed.Single(p => p.Key == key).Value;

    private static ReadOnlyMemory<byte> Bytes(string value) => Encoding.UTF8.GetBytes(value);

    private static IReadOnlyList<DataplaneUpdate> Calculate(SyncState sync, CalculationGraph graph)
    {
        foreach (var update in sync.TakeUpdates())
        {
            graph.OnUpdate(update);
        }

        return graph.Flush();
    }

    private static EquatableList<IPAddress> SetMembers(IReadOnlyList<DataplaneUpdate> updates, string tag, IpVersion version) =>
        Assert.Single(updates.OfType<IpSetUpdate>(), u => u.Id == new IpSetId(tag, version)).Members;

    private static ClusterHost FakeHost(int number) =>
        new($"host{number}", number, new NetNs($"not-created-host{number}", "/nonexistent/ip"),
            IPAddress.Parse($"10.99.0.{number}"), IPAddress.Parse($"fd99::{number}"));

    private static ClusterWorkload FakeWorkload(string name, ClusterHost host, int number, bool ipv6 = true)
    {
        var workload = new Workload(host.Namespace, new NetNs($"not-created-{name}", "/nonexistent/ip"),
            $"cali{number:x11}", IPAddress.Parse($"192.168.0.{number}"), $"1e:48:3e:ec:71:{number:x2}");
        return new ClusterWorkload(name, host, workload, ipv6 ? IPAddress.Parse($"fd80:24e2:f998:72d6::{number:x}") : null);
    }
}
