using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using dotnet_etcd;
using Felix.IntegrationTests.EndToEnd;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Google.Protobuf;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.Datastore;

/// <summary>
/// The model's whole bad-input corpus (Felix.Agent.Tests/Model/Corpus/bad-inputs.jsonc) written
/// into a real etcd next to valid endpoints, through the published agent in a host namespace with
/// real workloads: DESIGN.md §2 says an invalid value is logged once with its key and reason,
/// counted, treated exactly as absent, and never reaches the kernel, crashes the agent or stops
/// other keys from being applied. Every case goes through the watch (written while an agent runs)
/// and, but for the few noted, through a snapshot (present when another agent starts on a host
/// whose kernel state was wiped). Every input the agents give iptables-restore and ipset is
/// recorded (<see cref="RestoreCapture"/>) and searched for text from the invalid values.
/// </summary>
[Collection(LiveArticleCluster.Collection)]
public sealed partial class AgentBadInputTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly ITestOutputHelper _output;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public AgentBadInputTests(ITestOutputHelper output)
    {
        Require.Root();
        _output = output;
    }

    [Fact]
    public async Task Every_corpus_case_beside_valid_endpoints_is_one_warning_and_a_count_and_never_reaches_the_kernel()
    {
        await using var cluster = await Cluster.StartAsync(hostCount: 1);
        var host = cluster.Hosts[0];
        var db1 = await cluster.AddWorkloadAsync(host, "db1");
        var app1 = await cluster.AddWorkloadAsync(host, "app1");
        var web1 = await cluster.AddWorkloadAsync(host, "web1");
        var model = new ArticleModel(cluster.Hosts, [(db1, ArticleModel.Db), (app1, ArticleModel.App), (web1, ArticleModel.Web)]);
        foreach (var workload in model.Workloads)
        {
            cluster.Listen(workload);
        }

        using var etcd = cluster.CreateEtcdClient();
        await ArticleWriter.WriteAsync(etcd, model);
        var expected = model.Expected();
        // The matrix proves enforcement only if it has both kinds of cell, from and to db1.
        Assert.Contains(expected.Cells, c => c.To == db1.Name && expected.IsOpen(c));
        Assert.Contains(expected.Cells, c => c.To == db1.Name && !expected.IsOpen(c));
        Assert.Contains(expected.Cells, c => c.From == db1.Name && expected.IsOpen(c));
        Assert.Contains(expected.Cells, c => c.From == db1.Name && !expected.IsOpen(c));

        var all = BadInputPlacement.PlaceAll(host.Name);
        var ready = Assert.Single(all, c => c.IsReady);
        var cases = all.Where(c => !c.IsReady).ToList();
        Log($"{all.Count} corpus cases placed; {cases.Select(c => c.Key).Distinct().Count()} distinct keys besides /calico/v1/Ready");

        // 1. An agent on the valid model alone: what it gives the kernel is the baseline of text that may appear.
        using var captureA = RestoreCapture.Create();
        var agentA = await cluster.StartAgentAsync(host, AgentSettings(captureA));
        await agentA.WaitForReadinessAsync(Bound);
        await AssertMatrixAsync(expected, model.Workloads, "valid model, first agent", agentA);
        var baseline = captureA.Inputs();
        var baselineFiles = baseline.Select(i => i.File).ToHashSet(StringComparer.Ordinal);
        var baselineText = string.Join('\n', baseline.Select(i => i.Text));
        Assert.Contains("felix-to-", baselineText, StringComparison.Ordinal);
        Assert.Contains(baseline, i => i.Tool == "ipset" && i.Text.Contains("felix-v4-db", StringComparison.Ordinal));
        Log($"baseline: {baseline.Count} restore/ipset inputs, {baselineText.Length} characters");

        await using (var liveness = LivenessWatch.Start(agentA))
        {
            // 2. Every case through the watch, into the running agent.
            var before = await LiveArticleCluster.ReadMetricAsync(agentA, InvalidKeys);
            var written = Stopwatch.StartNew();
            await PutAllAsync(etcd, cases);
            await WaitForWarningsAsync(agentA, cases, "the watched cases");
            Log($"watch: {cases.Count} cases written and each warned about within {written.ElapsedMilliseconds} ms");
            AssertOneWarningEach(agentA, cases);
            await AssertCountedAsync(agentA, before, cases);
            await AssertProgrammedAsync(model.Workloads);
            await AssertMatrixAsync(expected, model.Workloads, "valid model with every bad case in etcd (watch)", agentA);

            // 3. A valid endpoint and a valid profile overwritten by invalid values are treated as deleted.
            await OverwriteWithInvalidAsync(etcd, model, web1, agentA, all, expected);

            // 4. Ready itself invalid: treated as absent, so nothing new is programmed, but nothing is undone either.
            await ReadyInvalidAsync(etcd, host, agentA, ready, expected, model);

            Assert.True(liveness.Failures.Count == 0, $"liveness not 200 while bad input arrived: {string.Join("; ", liveness.Failures)}");
            Log($"first agent: liveness answered 200 on all {liveness.Polls} polls");
        }

        await agentA.SignalAsync("TERM");
        Assert.Equal(0, await agentA.WaitForExitAsync(Bound));
        AssertNoErrors(agentA);

        // 5. A host whose kernel lost everything, and a new agent that finds the bad cases in its snapshot.
        await WipeDataplaneAsync(host);
        var snapshotCases = cases.GroupBy(c => c.Key).Select(g => g.Last()).ToList();
        using var captureB = RestoreCapture.Create();
        var agentB = await cluster.StartAgentAsync(host, AgentSettings(captureB));
        await agentB.WaitForReadinessAsync(Bound);
        await using (var liveness = LivenessWatch.Start(agentB))
        {
            await WaitForWarningsAsync(agentB, snapshotCases, "the snapshot's cases");
            AssertOneWarningEach(agentB, snapshotCases);
            await AssertCountedAsync(agentB, new Dictionary<string, double>(), snapshotCases);
            await AssertProgrammedAsync(model.Workloads);
            await AssertMatrixAsync(expected, model.Workloads, "valid model with every bad case in the snapshot, wiped kernel", agentB);
            Assert.True(liveness.Failures.Count == 0, $"liveness not 200 after a snapshot of bad input: {string.Join("; ", liveness.Failures)}");
            Log($"second agent: {snapshotCases.Count} snapshot cases warned about; liveness 200 on all {liveness.Polls} polls");
        }

        await agentB.SignalAsync("TERM");
        Assert.Equal(0, await agentB.WaitForExitAsync(Bound));
        AssertNoErrors(agentB);

        // 6. Nothing of any invalid value in anything either agent gave the kernel.
        var later = captureA.Inputs().Where(i => !baselineFiles.Contains(i.File)).Concat(captureB.Inputs()).ToList();
        AssertNoInvalidText(all, baselineText, later);
    }

    private const string InvalidKeys = "felix_datastore_invalid_keys";

    // nft named so the agent and the test's iptables-save agree whatever the machine's default;
    // the capture's wrappers first on the agent's PATH.
    private static Dictionary<string, string> AgentSettings(RestoreCapture capture) =>
        new(capture.Environment) { ["FELIX_IPTABLESBACKEND"] = "nft" };

    private static async Task PutAllAsync(EtcdClient etcd, IEnumerable<PlacedCase> cases)
    {
        foreach (var placed in cases)
        {
            await PutAsync(etcd, placed.Key, placed.Value);
        }
    }

    // The value's bytes exactly as the corpus gives them: invalid UTF-8 and all.
    private static Task<Etcdserverpb.PutResponse> PutAsync(EtcdClient etcd, string key, byte[] value) =>
        etcd.PutAsync(new Etcdserverpb.PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFrom(value) },
            deadline: DateTime.UtcNow + TimeSpan.FromSeconds(10));

    private static Task<Etcdserverpb.PutResponse> PutAsync(EtcdClient etcd, string key, string value) => PutAsync(etcd, key, Encoding.UTF8.GetBytes(value));

    private static bool IsWarningAbout(string line, PlacedCase placed) =>
        line.Contains("[WARNING]", StringComparison.Ordinal)
        && line.Contains($"treated as absent: {placed.LoggedKey}: ", StringComparison.Ordinal)
        && line.Contains(placed.Case.Reason, StringComparison.Ordinal);

    private static async Task WaitForWarningsAsync(AgentProcess agent, IReadOnlyList<PlacedCase> cases, string what)
    {
        var missing = cases.ToList();
        var clock = Stopwatch.StartNew();
        while (missing.Count > 0 && clock.Elapsed < Bound)
        {
            var lines = agent.StandardOutput;
            missing.RemoveAll(placed => lines.Any(line => IsWarningAbout(line, placed)));
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        Assert.True(missing.Count == 0,
            $"no warning within {Bound} for {missing.Count} of {what}: {string.Join(", ", missing.Take(10))}\n{agent.Output()}");
    }

    private static void AssertOneWarningEach(AgentProcess agent, IReadOnlyList<PlacedCase> cases)
    {
        var lines = agent.StandardOutput;
        foreach (var placed in cases)
        {
            var count = lines.Count(line => IsWarningAbout(line, placed));
            Assert.True(count == 1, $"{placed.Case.Name}: {count} warnings about {placed.LoggedKey} with reason '{placed.Case.Reason}'");
        }

        // Nothing else about these keys at all: no second line at another level, no partial key.
        foreach (var key in cases.Select(c => c.LoggedKey).Distinct())
        {
            var about = lines.Count(line => line.Contains($"{key}: ", StringComparison.Ordinal));
            Assert.True(about == cases.Count(c => c.LoggedKey == key), $"{about} log lines about {key}");
        }
    }

    /// <summary>The counter grew by exactly the number of cases, per kind label, over <paramref name="before"/>.</summary>
    private async Task AssertCountedAsync(AgentProcess agent, IReadOnlyDictionary<string, double> before, IEnumerable<PlacedCase> cases)
    {
        var after = await LiveArticleCluster.ReadMetricAsync(agent, InvalidKeys);
        var expectedByLabel = cases.GroupBy(c => $"{{kind=\"{c.Kind}\"}}").ToDictionary(g => g.Key, g => (double)g.Count(), StringComparer.Ordinal);
        foreach (var label in after.Keys.Union(expectedByLabel.Keys))
        {
            var grown = after.GetValueOrDefault(label) - before.GetValueOrDefault(label);
            Assert.True(grown == expectedByLabel.GetValueOrDefault(label), $"{InvalidKeys}{label} grew by {grown}, expected {expectedByLabel.GetValueOrDefault(label)}");
        }

        Log($"{InvalidKeys} grew by {expectedByLabel.Values.Sum()}: {string.Join(", ", expectedByLabel.Select(p => $"{p.Key} {p.Value}"))}");
    }

    private void Log(string line) => _output.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:F2} s] {line}");
}
