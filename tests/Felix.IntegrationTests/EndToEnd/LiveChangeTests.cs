using System.Diagnostics;
using System.Net.Sockets;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.EndToEnd;

/// <summary>
/// Changes to the datastore while both agents run: the article's <c>calicoctl profile app tag
/// remove db-users</c> and its undo, and a profile's rules rewritten. The connectivity between the
/// workloads must follow each change; for the tag, within the bound of 2 s from the etcd
/// write to the first probe that sees the change.
/// </summary>
[Collection(LiveArticleCluster.Collection)]
public sealed class LiveChangeTests
{
    /// <summary>The requirement: a tag change is enforced within 2 s of its etcd write.</summary>
    private static readonly TimeSpan TagChangeBound = TimeSpan.FromSeconds(2);

    // Polling goes on past the bound so a miss reports how late it was rather than only "late".
    private static readonly TimeSpan PollLimit = TimeSpan.FromSeconds(6);

    // Open probes answer in well under a millisecond here; a DROP costs the whole timeout, so it sets
    // the polling's granularity while waiting for a cell to open.
    private static readonly TimeSpan PollProbeTimeout = TimeSpan.FromMilliseconds(100);

    private const int MySql = 3306;

    private readonly ITestOutputHelper _output;

    public LiveChangeTests(ITestOutputHelper output)
    {
        Require.Root();
        _output = output;
    }

    [Fact]
    public async Task Removing_db_users_from_app_closes_app_to_db_3306_within_2_s_and_adding_it_back_reopens_it()
    {
        await using var live = await LiveArticleCluster.StartAsync(_output);
        var (app, db) = (live.Cluster.Workload("app1"), live.Cluster.Workload("db1"));
        // app1 is on host2 and db1 on host1: the change must reach the other host's ipset.
        Assert.NotEqual(app.Host, db.Host);

        var closed = await TimeTagChangeAsync(live, app, db, open: false,
            () => ArticleWriter.RemoveTagAsync(live.Etcd, live.Model, ArticleModel.App, ArticleModel.DbUsers));
        await live.AssertMatrixAsync(live.Model.Expected(), live.Model.Workloads, "the matrix without db-users on app");

        var reopened = await TimeTagChangeAsync(live, app, db, open: true,
            () => ArticleWriter.AddTagAsync(live.Etcd, live.Model, ArticleModel.App, ArticleModel.DbUsers));
        await live.AssertMatrixAsync(live.Model.Expected(), live.Model.Workloads, "the matrix with db-users back on app");

        live.Log($"tag removed -> closed: {Describe(closed)}; tag added -> open: {Describe(reopened)}");
    }

    [Fact]
    public async Task Rewriting_webs_inbound_ports_from_80_and_443_to_8080_changes_the_matrix_accordingly()
    {
        await using var live = await LiveArticleCluster.StartAsync(_output);
        var model = live.Model;
        var byName = model.Workloads.ToDictionary(w => w.Name);
        bool IsWeb(string name) => model.ProfileOf(byName[name]) == ArticleModel.Web;
        bool HasWebTag(string name) => model.TagsOf(model.ProfileOf(byName[name])).Contains(ArticleModel.Web);

        // The article's web rules with the public ports replaced: everyone may reach web on 8080 only.
        const string rules = """{ "inbound_rules": [ { "action": "allow", "src_tag": "web" }, { "action": "allow", "protocol": "tcp", "dst_ports": [8080] } ], "outbound_rules": [ { "action": "allow" } ] }""";
        await ArticleWriter.PutAllAsync(live.Etcd, [new(ArticleModel.RulesKey(ArticleModel.Web), rules)]);

        var article = model.Expected();
        var expected = article.With(cell => IsWeb(cell.To) && !HasWebTag(cell.From) ? cell.Port == 8080 : null);
        // The change must actually move cells both ways, or this test would pass with the old rules in place.
        Assert.Contains(expected.Cells, cell => expected.IsOpen(cell) && !article.IsOpen(cell));
        Assert.Contains(expected.Cells, cell => !expected.IsOpen(cell) && article.IsOpen(cell));
        await live.AssertMatrixAsync(expected, model.Workloads, "the matrix with web open on 8080 only");
    }

    /// <summary>
    /// Writes the change and polls app → db:3306 over both families at once until each sees
    /// <paramref name="open"/>; asserts both within <see cref="TagChangeBound"/> of the write.
    /// </summary>
    private static async Task<TimeSpan[]> TimeTagChangeAsync(LiveArticleCluster live, ClusterWorkload app, ClusterWorkload db, bool open,
        Func<Task> write)
    {
        foreach (var family in LiveArticleCluster.Families)
        {
            // The cell must be in the other state first, or the timing would measure nothing.
            Assert.Equal(!open, (await Probe.ConnectAsync(app.Namespace, db.AddressOf(family), MySql, LiveArticleCluster.Probing.Timeout)).IsOpen);
        }

        var clock = Stopwatch.StartNew();
        await write();
        var written = clock.Elapsed;
        var seen = await Task.WhenAll(LiveArticleCluster.Families.Select(family =>
            LiveArticleCluster.TimeUntilAsync(clock, app, db, MySql, family, open, PollLimit, PollProbeTimeout)));
        var state = open ? "open" : "closed";
        live.Log($"etcd write took {written.TotalMilliseconds:F0} ms; app1 -> db1:3306 {state} after "
            + string.Join(", ", seen.Select((at, i) => $"{Name(LiveArticleCluster.Families[i])} {(at is { } t ? $"{t.TotalMilliseconds:F0} ms" : "never")}")));
        for (var i = 0; i < seen.Length; i++)
        {
            var at = seen[i];
            Assert.True(at is not null && at <= TagChangeBound,
                $"app1 -> db1:3306 over {Name(LiveArticleCluster.Families[i])} was not {state} within {TagChangeBound} of the etcd write "
                + $"(seen {(at is { } t ? $"after {t.TotalMilliseconds:F0} ms" : $"not within {PollLimit}")})\n{live.AgentOutputs()}");
        }

        return [.. seen.Select(at => at!.Value)];
    }

    private static string Describe(TimeSpan[] times) =>
        string.Join(", ", times.Select((t, i) => $"{Name(LiveArticleCluster.Families[i])} {t.TotalMilliseconds:F0} ms"));

    private static string Name(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4";
}
