using System.Diagnostics;
using Felix.IntegrationTests.EndToEnd;
using Felix.IntegrationTests.Fixtures.EndToEnd;

namespace Felix.IntegrationTests.Faults;

public sealed partial class AgentFaultTests
{
    private static readonly TimeSpan ChurnStep = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan CompactionInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ChurnBeforeStall = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan ChurnAfterStall = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan ResyncBound = TimeSpan.FromSeconds(20);

    // Each put is one watch response: far more than etcd's 128 buffered responses per watch stream
    // plus what the HTTP/2 window lets through to a client that does not read.
    private const int Fillers = 400;
    private const int FillerBytes = 16 * 1024;

    /// <summary>
    /// Endpoints of two extra workloads come and go and the batch profile gains and loses
    /// <c>db-users</c> (the set host1's db chain matches app1 by, on an allowed probed path) every
    /// 250 ms, while etcd is compacted to its latest revision every second. A watch that keeps up
    /// never notices a compaction, so host1's agent is made to fall behind as a stalled process
    /// does (SIGSTOP): meanwhile enough is written under <c>/calico/v1/</c> that etcd cannot buffer
    /// it for that watch, the batch tag flips, and etcd is compacted; on SIGCONT etcd tells the
    /// watch its revision is gone. The agent must resync (<c>felix_resyncs_started</c> grows, the
    /// log says why) and apply only the difference: no flush, so allowed probes never fail, and the
    /// iptables lines of the resync are a small fraction of the first apply's (the difference is a
    /// set member). Afterwards the churn goes on; the final matrix must hold, and clean restarts of
    /// both agents must find the kernel already in the final model's state.
    /// </summary>
    [Fact]
    public async Task Etcd_compacted_under_churn_makes_the_agent_resync_without_a_flush_and_end_in_the_final_state()
    {
        await using var live = await LiveArticleCluster.StartAsync(_output);
        var foreign = await InstalledForeignState.InstallAsync(live);
        var (cluster, host1, host2) = (live.Cluster, live.Host1, live.Host2);
        var extras = new[] { (Workload: await cluster.AddWorkloadAsync(host1, "app3"), Profile: ArticleModel.App),
            (Workload: await cluster.AddWorkloadAsync(host2, "web3"), Profile: ArticleModel.Web) };
        foreach (var (workload, _) in extras)
        {
            cluster.Listen(workload);
            await cluster.AddBgpRouteAsync(workload.Host == host1 ? host2 : host1, workload);
        }

        var agent = live.Agent(host1);
        var firstApply = await MetricSumAsync(agent, "felix_iptables_lines_executed");
        var resyncsBefore = await MetricSumAsync(agent, "felix_resyncs_started");
        var present = new bool[extras.Length];
        var batchHasDbUsers = false;
        var (steps, compactions) = (0, 0);
        var nextCompaction = CompactionInterval;
        var clock = Stopwatch.StartNew();

        async Task StepAsync()
        {
            var which = steps++ % (extras.Length + 1);
            if (which < extras.Length)
            {
                var (workload, profile) = extras[which];
                present[which] = !present[which];
                var key = ArticleModel.EndpointKey(workload);
                if (present[which])
                {
                    await live.Etcd.PutAsync(key, ArticleModel.EndpointJson(workload, profile), deadline: DateTime.UtcNow + PutTimeout);
                }
                else
                {
                    await live.Etcd.DeleteAsync(key, deadline: DateTime.UtcNow + PutTimeout);
                }
            }
            else
            {
                await FlipBatchTagAsync();
            }
        }

        async Task FlipBatchTagAsync()
        {
            batchHasDbUsers = !batchHasDbUsers;
            await ArticleWriter.PutAllAsync(live.Etcd, [batchHasDbUsers
                ? live.Model.AddTag(ArticleModel.Unrelated, ArticleModel.DbUsers)
                : live.Model.RemoveTag(ArticleModel.Unrelated, ArticleModel.DbUsers)]);
        }

        async Task ChurnUntilAsync(TimeSpan until)
        {
            while (clock.Elapsed < until)
            {
                var started = clock.Elapsed;
                await StepAsync();
                if (clock.Elapsed >= nextCompaction)
                {
                    nextCompaction = clock.Elapsed + CompactionInterval;
                    await CompactToLatestAsync(live.Etcd);
                    compactions++;
                }

                var wait = started + ChurnStep - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }
            }
        }

        await using var probes = ProbeRun.Start(live);
        await ChurnUntilAsync(ChurnBeforeStall);

        // The stall. Metrics are read before it: a stopped agent answers nothing.
        var linesBefore = await MetricSumAsync(agent, "felix_iptables_lines_executed");
        var ipsetBefore = await MetricSumAsync(agent, "felix_ipset_lines_executed");
        await agent.SignalAsync("STOP");
        var stall = Stopwatch.StartNew();
        var filler = new string('x', FillerBytes);
        for (var n = 0; n < Fillers; n++)
        {
            await live.Etcd.PutAsync($"/calico/v1/fault-filler/{n}", filler, deadline: DateTime.UtcNow + PutTimeout);
        }

        await FlipBatchTagAsync();
        var compactedTo = await CompactToLatestAsync(live.Etcd);
        compactions++;
        await agent.SignalAsync("CONT");
        live.Log($"host1's agent stopped {stall.ElapsedMilliseconds} ms: {Fillers} puts of {FillerBytes} bytes, batch's db-users "
            + $"{(batchHasDbUsers ? "added" : "removed")}, compacted to revision {compactedTo}");

        var resync = Stopwatch.StartNew();
        await live.WaitForAsync(() => Task.FromResult(agent.StandardOutput.Any(l => l.Contains("compacted past the watch", StringComparison.Ordinal))),
            ResyncBound, "host1's agent reporting its watch compacted after SIGCONT");
        await live.WaitForAsync(async () => await MetricSumAsync(agent, "felix_resyncs_started") > resyncsBefore
            && await MetricSumAsync(agent, "felix_resync_state") == 2, ResyncBound, "host1's agent in sync again after the resync");
        var toInSync = resync.Elapsed;
        live.Log($"host1's agent: {agent.StandardOutput.First(l => l.Contains("compacted past the watch", StringComparison.Ordinal))}");
        await live.WaitForAsync(async () => await IsBatchInDbUsersAsync(host1, live.Cluster.Workload("batch1")) == batchHasDbUsers, ResyncBound,
            "the batch tag flip made during the stall enforced in host1's db-users set");
        // Settled: nothing else is left to apply for the resync before the churn resumes.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var resyncLines = await MetricSumAsync(agent, "felix_iptables_lines_executed") - linesBefore;
        var resyncIpset = await MetricSumAsync(agent, "felix_ipset_lines_executed") - ipsetBefore;
        var resyncs = await MetricSumAsync(agent, "felix_resyncs_started") - resyncsBefore;
        live.Log($"resync: in sync again {toInSync.TotalMilliseconds:F0} ms after SIGCONT; resyncs started {resyncs}; iptables lines {resyncLines} "
            + $"(first apply: {firstApply}); ipset lines {resyncIpset}");

        await ChurnUntilAsync(clock.Elapsed + ChurnAfterStall);
        live.Log($"churn over after {clock.Elapsed.TotalSeconds:F1} s: {steps} changes, {compactions} compactions; "
            + $"extras present: {string.Join(", ", extras.Select((e, i) => $"{e.Workload.Name} {present[i]}"))}; batch has db-users: {batchHasDbUsers}");

        var model = live.Model;
        var final = new ArticleModel(cluster.Hosts, [.. model.Workloads.Select(w => (w, model.ProfileOf(w))), .. extras]);
        if (batchHasDbUsers)
        {
            final.AddTag(ArticleModel.Unrelated, ArticleModel.DbUsers);
        }

        var absent = extras.Where((e, i) => !present[i]).Select(e => e.Workload.Name).ToHashSet(StringComparer.Ordinal);
        var expected = final.Expected().With(cell => absent.Contains(cell.From) || absent.Contains(cell.To) ? false : null);
        await live.AssertMatrixAsync(expected, final.Workloads, "the final model's matrix after the churn");
        var reports = await probes.StopAsync();

        AssertProbesClean(live, reports, "etcd compacted during churn");
        Assert.True(resyncs >= 1, $"host1's agent started no resync after its watch was compacted\n{agent.Output()}");
        Assert.True(resyncLines <= firstApply / 10,
            $"the resync executed {resyncLines} iptables lines, not far fewer than the first apply's {firstApply}: a flush?\n{agent.Output()}");
        foreach (var host in cluster.Hosts)
        {
            await AssertCleanRestartChangesNothingAsync(live, host, "after the churn and compactions");
        }

        await foreign.AssertUnchangedAsync("after the churn, the compactions and the resync");
    }

    private static async Task<bool> IsBatchInDbUsersAsync(ClusterHost host, ClusterWorkload batch)
    {
        var saved = (await host.Namespace.ExecCheckedAsync("ipset", "save", "felix-v4-db-users")).StandardOutput;
        return saved.Split('\n').Contains($"add felix-v4-db-users {batch.Ipv4Address}");
    }
}
