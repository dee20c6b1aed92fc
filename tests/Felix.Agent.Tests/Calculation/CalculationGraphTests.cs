using Felix.Agent.Calculation;
using Felix.Agent.Datastore;
using Felix.Agent.Model;
using static Felix.Agent.Tests.Calculation.Cluster;

namespace Felix.Agent.Tests.Calculation;

public class CalculationGraphTests
{
    private const string H2 = "h2";
    private const string H3 = "h3";

    /// <summary>A cluster state (flushed, in sync), one batch of changes, and exactly what that batch must emit.</summary>
    public sealed record Scenario(DatastoreUpdate[] Setup, DatastoreUpdate[] Change, string[] Expected);

    private static readonly DatastoreUpdate[] DbWithUsers =
    [
        Rules("db", "users"), Rules("app"), Ep("d1", Me, ["db"], "10.0.0.9"),
    ];

    private static readonly Dictionary<string, Scenario> Scenarios = new()
    {
        ["endpoint changes profile"] = new(
            [Rules("a", "ta"), Rules("b", "tb"), Tags("a", "ta"), Tags("b", "tb"), Ep("e1", Me, ["a"], "10.0.0.1")],
            [Ep("e1", Me, ["b"], "10.0.0.1")],
            ["set tb/v4 [10.0.0.1]", "set tb/v6 []", "profile b", "ep e1 [b]", "unprofile a", "unset ta/v4", "unset ta/v6"]),
        ["profile gains a tag used by 3 endpoints on 2 hosts"] = new(
            [.. DbWithUsers, Ep("a1", Me, ["app"], "10.0.0.1"), Ep("a2", H2, ["app"], "10.0.0.2"), Ep("a3", H2, ["app"], "10.0.0.3")],
            [Tags("app", "users")],
            ["delta users/v4 +[10.0.0.1, 10.0.0.2, 10.0.0.3] -[]"]),
        ["profile loses a tag used by 3 endpoints on 2 hosts"] = new(
            [.. DbWithUsers, Tags("app", "users"), Ep("a1", Me, ["app"], "10.0.0.1"), Ep("a2", H2, ["app"], "10.0.0.2"),
                Ep("a3", H2, ["app"], "10.0.0.3", "fd00::3")],
            [NoTags("app")],
            ["delta users/v4 +[] -[10.0.0.1, 10.0.0.2, 10.0.0.3]", "delta users/v6 +[] -[fd00::3]"]),
        ["two endpoints share an IP: removing one keeps it"] = new(
            [.. DbWithUsers, Tags("app", "users"), Ep("a1", H2, ["app"], "10.0.0.5"), Ep("a2", H3, ["app"], "10.0.0.5")],
            [NoEp("a1", H2)],
            []),
        ["two endpoints share an IP: removing both removes it"] = new(
            [.. DbWithUsers, Tags("app", "users"), Ep("a1", H2, ["app"], "10.0.0.5"), Ep("a2", H3, ["app"], "10.0.0.5")],
            [NoEp("a1", H2), NoEp("a2", H3)],
            ["delta users/v4 +[] -[10.0.0.5]"]),
        ["an IP reached through two profiles with the tag stays when one loses it"] = new(
            [.. DbWithUsers, Tags("app", "users"), Tags("app2", "users"), Ep("a1", H2, ["app", "app2"], "10.0.0.5")],
            [NoTags("app2")],
            []),
        ["a profile referenced but not defined gets a stub"] = new(
            [],
            [Ep("e1", Me, ["ghost"], "10.0.0.1")],
            ["stub ghost", "ep e1 [ghost]"]),
        ["a stub profile becomes defined, with the sets its rules need first"] = new(
            [Ep("e1", Me, ["ghost"], "10.0.0.1")],
            [Rules("ghost", "t")],
            ["set t/v4 []", "set t/v6 []", "profile ghost"]),
        ["a profile's rules vanish: back to a stub, its sets go"] = new(
            DbWithUsers,
            [NoRules("db")],
            ["stub db", "unset users/v4", "unset users/v6"]),
        ["an endpoint moves from another host to this one"] = new(
            [.. DbWithUsers, Tags("app", "users"), Ep("a1", H2, ["app"], "10.0.0.1")],
            [NoEp("a1", H2), Ep("a1", Me, ["app"], "10.0.0.1")],
            ["profile app", "ep a1 [app]"]),
        ["a remote inactive endpoint contributes no IP"] = new(
            [.. DbWithUsers, Tags("app", "users")],
            [Ep("a1", H2, EndpointState.Inactive, ["app"], "10.0.0.1")],
            []),
        ["a local inactive endpoint is emitted with its profiles but contributes no IP"] = new(
            [.. DbWithUsers, Tags("app", "users")],
            [Ep("a1", Me, EndpointState.Inactive, ["app"], "10.0.0.1")],
            ["profile app", "ep a1 inactive [app]"]),
        ["an endpoint going inactive leaves the sets"] = new(
            [.. DbWithUsers, Tags("app", "users"), Ep("a1", H2, ["app"], "10.0.0.1")],
            [Ep("a1", H2, EndpointState.Inactive, ["app"], "10.0.0.1")],
            ["delta users/v4 +[] -[10.0.0.1]"]),
        ["a tag no active rule names has no set"] = new(
            [],
            [Rules("app"), Tags("app", "users"), Ep("a1", Me, ["app"], "10.0.0.1")],
            ["profile app", "ep a1 [app]"]),
        ["a negated tag needs its set too"] = new(
            [Tags("app", "users"), Ep("a1", H2, ["app"], "10.0.0.1")],
            [Rules("db", "!users"), Ep("d1", Me, ["db"], "10.0.0.9")],
            ["set users/v4 [10.0.0.1]", "set users/v6 []", "profile db", "ep d1 [db]"]),
        ["no implicit tag equal to the profile's name"] = new(
            [Rules("db", "app"), Ep("d1", Me, ["db"], "10.0.0.9")],
            [Rules("app"), Ep("a1", H2, ["app"], "10.0.0.1")],
            []),
        ["changes to one object coalesce: last state wins"] = new(
            DbWithUsers,
            [Ep("d1", Me, ["db"], "10.0.0.1"), Ep("d1", Me, ["db"], "10.0.0.2"), Ep("d1", Me, ["db", "app"], "10.0.0.2")],
            ["profile app", "ep d1 [db, app]"]),
        ["an object added and removed in one batch emits nothing"] = new(
            DbWithUsers,
            [Ep("x", Me, ["new"], "10.0.0.7"), Tags("app", "users"), Ep("a1", H2, ["app"], "10.0.0.3"), NoEp("x"), NoEp("a1", H2)],
            []),
        ["a change and its undo in one batch emit nothing"] = new(
            [.. DbWithUsers, Tags("app", "users"), Ep("a1", H2, ["app"], "10.0.0.3")],
            [NoTags("app"), Tags("app", "users"), NoRules("db"), Rules("db", "users")],
            []),
        ["removals run endpoints, then profiles, then sets"] = new(
            DbWithUsers,
            [NoEp("d1")],
            ["unep d1", "unprofile db", "unset users/v4", "unset users/v6"]),
        ["additions run sets, then profiles, then endpoints"] = new(
            [Tags("app", "users"), Ep("a1", H2, ["app"], "10.0.0.3", "fd00::3")],
            [Ep("d1", Me, ["db"], "10.0.0.9"), Rules("db", "users")],
            ["set users/v4 [10.0.0.3]", "set users/v6 [fd00::3]", "profile db", "ep d1 [db]"]),
        ["pools come and go"] = new(
            [Pool("10.0.0.0/8")],
            [Pool("10.0.0.0/8", masquerade: true), Pool("192.168.0.0/16"), NoPool("10.0.0.0/8")],
            ["pool 192.168.0.0/16", "unpool 10.0.0.0/8"]),
        ["remote routes are not emitted while the option is off"] = new(
            [HostIp(H2, "172.16.0.2")],
            [Ep("a1", H2, ["app"], "10.0.0.1")],
            []),
    };

    public static TheoryData<string> ScenarioNames => [.. Scenarios.Keys];

    [Theory]
    [MemberData(nameof(ScenarioNames))]
    public void A_batch_emits_exactly_what_changed(string name)
    {
        var scenario = Scenarios[name];
        var graph = new CalculationGraph(Me, remoteWorkloadRoutes: false);
        Feed(graph, [.. scenario.Setup, Synced]);
        graph.Flush();

        Feed(graph, scenario.Change);

        Assert.Equal(scenario.Expected, Describe(graph.Flush()));
        Assert.Empty(graph.Flush());
    }

    [Fact]
    public void Nothing_is_emitted_before_in_sync_then_the_whole_snapshot_in_one_flush()
    {
        var graph = new CalculationGraph(Me, remoteWorkloadRoutes: false);
        Feed(graph, [.. DbWithUsers, Tags("app", "users"), Ep("a1", H2, ["app"], "10.0.0.1")]);
        Assert.Empty(graph.Flush());
        Feed(graph, [Ep("a2", H2, ["app"], "10.0.0.2"), NoEp("a1", H2)]);
        Assert.Empty(graph.Flush());

        Feed(graph, [Synced]);

        Assert.Equal(
            ["set users/v4 [10.0.0.2]", "set users/v6 []", "profile db", "ep d1 [db]", "in sync"],
            Describe(graph.Flush()));
        Assert.Empty(graph.Flush());
    }

    [Fact]
    public void Remote_routes_follow_the_endpoint_and_its_host_ip_when_the_option_is_on()
    {
        var graph = new CalculationGraph(Me, remoteWorkloadRoutes: true);
        Feed(graph, [Ep("a1", H2, ["app"], "10.0.0.1", "fd00::1"), Ep("mine", Me, ["app"], "10.0.0.9"), Synced]);
        Assert.Equal(["stub app", "ep mine [app]", "in sync"], Describe(graph.Flush()));

        Feed(graph, [HostIp(H2, "172.16.0.2")]);
        Assert.Equal(["route a1 [10.0.0.1/32] via 172.16.0.2"], Describe(graph.Flush()));

        Feed(graph, [Ep("a1", H2, EndpointState.Inactive, ["app"], "10.0.0.1")]);
        Assert.Equal(["unroute a1"], Describe(graph.Flush()));

        Feed(graph, [Ep("a1", H2, ["app"], "10.0.0.3"), HostIp(H2, "172.16.0.3")]);
        Assert.Equal(["route a1 [10.0.0.3/32] via 172.16.0.3"], Describe(graph.Flush()));

        Feed(graph, [NoHostIp(H2)]);
        Assert.Equal(["unroute a1"], Describe(graph.Flush()));
    }

    [Fact]
    public void Counts_follow_local_endpoints_profiles_and_tags()
    {
        var graph = new CalculationGraph(Me, remoteWorkloadRoutes: false);
        Feed(graph, [
            Rules("db", "users", "!admins"), Rules("app", "users"),
            Ep("d1", Me, ["db"], "10.0.0.9"), Ep("a1", Me, EndpointState.Inactive, ["app"], "10.0.0.1"),
            Ep("r1", H2, ["web"], "10.0.0.2"),
        ]);

        Assert.Equal((1, 2, 2), (graph.ActiveLocalEndpoints, graph.ActiveLocalProfiles, graph.ActiveTags));

        Feed(graph, [NoEp("d1")]);

        Assert.Equal((0, 1, 1), (graph.ActiveLocalEndpoints, graph.ActiveLocalProfiles, graph.ActiveTags));
    }

    private static void Feed(CalculationGraph graph, IEnumerable<DatastoreUpdate> updates)
    {
        foreach (var update in updates)
        {
            graph.OnUpdate(update);
        }
    }

    [Fact]
    public void An_endpoints_profiles_lose_their_repeats_in_order_and_a_list_without_any_is_used_as_it_is()
    {
        EquatableList<string> plain = ["b", "a", "c"];

        Assert.Same(plain, CalculationGraph.DistinctProfiles(plain));
        Assert.Equal(["b", "a", "c"], CalculationGraph.DistinctProfiles(["b", "a", "b", "c", "a"]));
        Assert.Empty(CalculationGraph.DistinctProfiles([]));
    }
}
