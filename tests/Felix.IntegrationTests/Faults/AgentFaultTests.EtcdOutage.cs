using System.Diagnostics;
using System.Net.Sockets;
using Felix.IntegrationTests.EndToEnd;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;

namespace Felix.IntegrationTests.Faults;

public sealed partial class AgentFaultTests
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(60);

    /// <summary>The agent sees the watch stream end at once; the margin covers a loaded machine.</summary>
    private static readonly TimeSpan NotReadyBound = TimeSpan.FromSeconds(10);

    /// <summary>The agent retries etcd with backoff capped at 10 s (jittered 5–10 s), then reads, applies and reports.</summary>
    private static readonly TimeSpan CatchUpBound = TimeSpan.FromSeconds(25);

    private static readonly TimeSpan HealthPollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan KernelCheckInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan FinalCheckMargin = TimeSpan.FromSeconds(1);

    /// <summary>
    /// etcd stopped for exactly 60 s. Both agents must stay live (every liveness poll 200), turn not
    /// ready (503) within <see cref="NotReadyBound"/> and stay so, and leave the kernel exactly as it
    /// was: no flush, no half-made change, while the CNI plugin's half of a new container (its veth,
    /// which needs no etcd) appears on host1. Once etcd is back, the rest of the change is written at
    /// once — the new endpoint, another one removed, a tag added that opens a path — and both agents
    /// must become ready again and enforce all of it. Probes run from before the stop to the end.
    /// </summary>
    [Fact]
    public async Task Etcd_stopped_for_60_s_leaves_agents_live_not_ready_and_the_kernel_unchanged_then_they_catch_up()
    {
        await using var live = await LiveArticleCluster.StartAsync(_output);
        var foreign = await InstalledForeignState.InstallAsync(live);
        var (cluster, host1, host2) = (live.Cluster, live.Host1, live.Host2);
        var agents = cluster.Hosts.Select(live.Agent).ToList();
        await using var probes = ProbeRun.Start(live);
        var before = await Task.WhenAll(cluster.Hosts.Select(LiveArticleCluster.KernelStateAsync));

        var outage = Stopwatch.StartNew();
        await cluster.Etcd.StopAsync();
        live.Log($"etcd stopped ({outage.ElapsedMilliseconds} ms for SIGTERM and exit)");
        var notReady = await Task.WhenAll(agents.Select(agent => TimeUntilNotReadyAsync(agent, outage)));
        live.Log($"agents not ready {string.Join(", ", notReady.Select(t => $"{t.TotalMilliseconds:F0} ms"))} after the stop");

        // What the CNI plugin does before it writes the endpoint: the veth, the container listening,
        // and (standing in for BGP) the other host's route to it.
        var web3 = await cluster.AddWorkloadAsync(host1, "web3");
        cluster.Listen(web3);
        await cluster.AddBgpRouteAsync(host2, web3);
        bool NotTheNewContainers(string line) =>
            !line.Contains(web3.HostInterface, StringComparison.Ordinal)
            && !LiveArticleCluster.Families.Any(family => line.StartsWith($"{web3.AddressOf(family)} via ", StringComparison.Ordinal));
        var expectedKernel = before.Select(state => Filter(state, NotTheNewContainers)).ToArray();

        var (polls, notLive, readyAgain, kernelChecks) = (0, 0, 0, 0);
        var nextKernelCheck = outage.Elapsed;
        // The last kernel check gets its own margin before the end, so etcd starts again at 60 s sharp.
        while (outage.Elapsed < Outage - FinalCheckMargin)
        {
            var started = outage.Elapsed;
            foreach (var agent in agents)
            {
                polls++;
                notLive += await HealthAsync(agent, "liveness") == 200 ? 0 : 1;
                readyAgain += await HealthAsync(agent, "readiness") == 503 ? 0 : 1;
            }

            if (started >= nextKernelCheck)
            {
                nextKernelCheck = started + KernelCheckInterval;
                kernelChecks++;
                await AssertKernelUnchangedAsync(live, expectedKernel, NotTheNewContainers, $"{started.TotalSeconds:F0} s into the etcd outage");
            }

            var wait = TimeSpan.FromTicks(Math.Min((started + HealthPollInterval - outage.Elapsed).Ticks, (Outage - FinalCheckMargin - outage.Elapsed).Ticks));
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
        }

        await AssertKernelUnchangedAsync(live, expectedKernel, NotTheNewContainers, "at the end of the etcd outage");
        if (Outage - outage.Elapsed is { Ticks: > 0 } rest)
        {
            await Task.Delay(rest);
        }

        var startedAt = outage.Elapsed;
        await cluster.Etcd.StartAsync();
        var etcdBack = Stopwatch.StartNew();
        var healthyAt = outage.Elapsed;
        live.Log($"etcd started again {startedAt.TotalSeconds:F2} s after the stop began, serving (healthy) at {healthyAt.TotalSeconds:F2} s; "
            + $"during the outage: {polls} health polls, {notLive} not live, {readyAgain} not 503 on readiness, {kernelChecks + 1} kernel checks");
        Assert.True(notLive == 0, $"{notLive} of {polls} liveness polls failed during the etcd outage\n{live.AgentOutputs()}");
        Assert.True(readyAgain == 0, $"{readyAgain} of {polls} readiness polls were not 503 during the etcd outage\n{live.AgentOutputs()}");

        // The rest of the change, written as soon as etcd serves again: web3's endpoint, web2's gone,
        // and db-users on the batch profile (batch1 may reach db1's 3306 from now on).
        var model = live.Model;
        var web2 = cluster.Workload("web2");
        var grown = new ArticleModel(cluster.Hosts, [.. model.Workloads.Select(w => (w, model.ProfileOf(w))), (web3, ArticleModel.Web)]);
        await WithEtcdRetryAsync(async () =>
        {
            await ArticleWriter.PutAllAsync(live.Etcd, [new(ArticleModel.EndpointKey(web3), ArticleModel.EndpointJson(web3, ArticleModel.Web))]);
            await live.Etcd.DeleteAsync(ArticleModel.EndpointKey(web2), deadline: DateTime.UtcNow + PutTimeout);
            await ArticleWriter.PutAllAsync(live.Etcd, [grown.AddTag(ArticleModel.Unrelated, ArticleModel.DbUsers), model.AddTag(ArticleModel.Unrelated, ArticleModel.DbUsers)]);
        });
        var written = etcdBack.Elapsed;
        var ready = await Task.WhenAll(agents.Select(async agent =>
        {
            await agent.WaitForReadinessAsync(CatchUpBound);
            return etcdBack.Elapsed;
        }));
        var (batch1, db1) = (cluster.Workload("batch1"), cluster.Workload("db1"));
        var opened = await LiveArticleCluster.TimeUntilAsync(etcdBack, batch1, db1, 3306, AddressFamily.InterNetwork, open: true,
            CatchUpBound, TimeSpan.FromMilliseconds(100));
        live.Log($"changes written {written.TotalMilliseconds:F0} ms after etcd was healthy; agents ready "
            + $"{string.Join(", ", ready.Select(t => $"{t.TotalMilliseconds:F0} ms"))} and batch1 -> db1:3306 open "
            + $"{(opened is { } o ? $"{o.TotalMilliseconds:F0} ms" : "never")} after it");
        Assert.True(opened is not null, $"batch1 -> db1:3306 not open within {CatchUpBound} of etcd's return\n{live.AgentOutputs()}");

        var expected = grown.Expected().With(cell => cell.From == web2.Name || cell.To == web2.Name ? false : null);
        await live.AssertMatrixAsync(expected, grown.Workloads, "the matrix with web3 added, web2 removed and db-users on batch, after the outage");
        var reports = await probes.StopAsync();
        AssertProbesClean(live, reports, "etcd outage of 60 s");
        await foreign.AssertUnchangedAsync("after the etcd outage and the catch-up");
    }

    private static async Task<TimeSpan> TimeUntilNotReadyAsync(AgentProcess agent, Stopwatch clock)
    {
        while (clock.Elapsed < NotReadyBound)
        {
            Assert.Equal(200, await HealthAsync(agent, "liveness"));
            if (await HealthAsync(agent, "readiness") == 503)
            {
                return clock.Elapsed;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        Assert.Fail($"agent in {agent.Namespace} still ready {NotReadyBound} after etcd stopped\n{agent.Output()}");
        return TimeSpan.Zero;
    }

    private static async Task AssertKernelUnchangedAsync(LiveArticleCluster live, string[] expected, Func<string, bool> keep, string when)
    {
        var hosts = live.Cluster.Hosts;
        for (var i = 0; i < hosts.Count; i++)
        {
            var now = Filter(await LiveArticleCluster.KernelStateAsync(hosts[i]), keep);
            Assert.True(now == expected[i], $"{hosts[i].Name}'s kernel state changed {when}:\n{Diff(expected[i], now)}\n{live.AgentOutputs()}");
        }
    }

    private static string Filter(string text, Func<string, bool> keep) => string.Join('\n', text.Split('\n').Where(keep));

    /// <summary>The test's etcd client may need a moment to reconnect to the restarted etcd: a few attempts, 500 ms apart.</summary>
    private static async Task WithEtcdRetryAsync(Func<Task> write)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await write();
                return;
            }
            catch (Grpc.Core.RpcException) when (attempt < 10)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500));
            }
        }
    }
}
