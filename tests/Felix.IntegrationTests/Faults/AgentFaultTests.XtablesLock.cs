using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Felix.IntegrationTests.EndToEnd;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;

namespace Felix.IntegrationTests.Faults;

public sealed partial class AgentFaultTests
{
    private static readonly TimeSpan LockHold = TimeSpan.FromSeconds(5);

    /// <summary>The agent waits for the lock (IptablesLockTimeoutSecs 10 s), so the change follows the release at once; the margin covers load.</summary>
    private static readonly TimeSpan AfterReleaseBound = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan LockPollInterval = TimeSpan.FromMilliseconds(200);

    // An open path answers in well under a millisecond here; a DROP costs the whole timeout.
    private static readonly TimeSpan ShortProbe = TimeSpan.FromMilliseconds(150);

    /// <summary>
    /// The agents on the legacy backend, which serialises every iptables writer on the xtables lock
    /// (a private file named by <c>XTABLES_LOCKFILE</c> in the agents' and the test's tools'
    /// environment, so the machine's <c>/run/xtables.lock</c> is never taken). Another program
    /// holds the lock for 5 s, and during the hold app's rules gain "allow from batch": host2's
    /// agent must wait for the lock rather than fail (its restore is seen waiting under it), stay
    /// live, keep enforcing the old policy until the release, apply the change right after it,
    /// and count no restore error. Probes run throughout.
    /// </summary>
    [Fact]
    public async Task The_xtables_lock_held_5_s_by_another_program_delays_a_policy_change_until_its_release_without_a_restore_error()
    {
        var directory = Directory.CreateTempSubdirectory("felix-fault-xtables-");
        var lockFile = Path.Combine(directory.FullName, "xtables.lock");
        Process? holder = null;
        try
        {
            var settings = new Dictionary<string, string> { ["FELIX_IPTABLESBACKEND"] = "legacy", ["XTABLES_LOCKFILE"] = lockFile };
            await using var live = await LiveArticleCluster.StartAsync(_output, settings);
            var foreign = await InstalledForeignState.InstallAsync(live, "legacy", lockFile);
            var agents = live.Cluster.Hosts.Select(live.Agent).ToList();
            var app2 = live.Agent(live.Host2);
            var (batch1, app1) = (live.Cluster.Workload("batch1"), live.Cluster.Workload("app1"));
            Assert.Equal(live.Host2, app1.Host);
            var errorsBefore = await Task.WhenAll(agents.Select(a => MetricSumAsync(a, "felix_iptables_restore_errors")));
            var restoresBefore = await MetricSumAsync(app2, "felix_iptables_restore_calls");
            Assert.False((await Probe.ConnectAsync(batch1.Namespace, app1.Ipv4Address, 22, LiveArticleCluster.Probing.Timeout)).IsOpen);

            await using var probes = ProbeRun.Start(live);
            holder = await HoldXtablesLockAsync(lockFile, LockHold);
            var hold = Stopwatch.StartNew();
            await ArticleWriter.PutAllAsync(live.Etcd, [new(ArticleModel.RulesKey(ArticleModel.App), AppRulesAdmittingBatch)]);
            var written = hold.Elapsed;

            var (polls, notLive, openedEarly, waitingRestoreSeen) = (0, 0, 0, false);
            while (!holder.HasExited && hold.Elapsed < LockHold + ExitBound)
            {
                var started = hold.Elapsed;
                polls++;
                foreach (var agent in agents)
                {
                    notLive += await HealthAsync(agent, "liveness") == 200 ? 0 : 1;
                }

                openedEarly += (await Probe.ConnectAsync(batch1.Namespace, app1.Ipv4Address, 22, ShortProbe)).IsOpen && !holder.HasExited ? 1 : 0;
                waitingRestoreSeen |= Children(app2.ProcessId).Any(c => IsRestore(c.Command) && c.Command[0].Contains("legacy", StringComparison.Ordinal));
                var wait = started + LockPollInterval - hold.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }
            }

            using (var exit = new CancellationTokenSource(ExitBound))
            {
                await holder.WaitForExitAsync(exit.Token);
            }

            var released = hold.Elapsed;
            var opened = await Task.WhenAll(LiveArticleCluster.Families.Select(family =>
                LiveArticleCluster.TimeUntilAsync(hold, batch1, app1, 22, family, open: true, released + AfterReleaseBound, ShortProbe)));
            live.Log($"lock held {released.TotalMilliseconds:F0} ms (change written at {written.TotalMilliseconds:F0} ms); during the hold: "
                + $"{polls} polls, {notLive} not live, batch1 -> app1:22 open {openedEarly} times, a legacy restore waiting under host2's agent: {waitingRestoreSeen}; "
                + $"open at {string.Join(", ", opened.Select(t => t is { } o ? $"{o.TotalMilliseconds:F0} ms" : "never"))}");

            Assert.True(notLive == 0, $"{notLive} liveness polls failed while the xtables lock was held\n{live.AgentOutputs()}");
            Assert.True(openedEarly == 0, $"batch1 -> app1:22 opened while another program held the xtables lock\n{live.AgentOutputs()}");
            Assert.True(waitingRestoreSeen, $"no iptables-legacy-restore was seen waiting under host2's agent during the hold\n{app2.Output()}");
            Assert.All(opened, at => Assert.True(at is { } o && o >= released - LockPollInterval,
                $"batch1 -> app1:22 not open within {AfterReleaseBound} of the release at {released.TotalMilliseconds:F0} ms\n{live.AgentOutputs()}"));

            var expected = live.Model.Expected().With(cell => cell.From == batch1.Name && cell.To == app1.Name ? true : null);
            await live.AssertMatrixAsync(expected, live.Model.Workloads, "the matrix with app admitting batch, after the lock was released");
            var reports = await probes.StopAsync();
            AssertProbesClean(live, reports, "xtables lock held 5 s");
            var errorsAfter = await Task.WhenAll(agents.Select(a => MetricSumAsync(a, "felix_iptables_restore_errors")));
            var restores = await MetricSumAsync(app2, "felix_iptables_restore_calls") - restoresBefore;
            live.Log($"restore errors before {string.Join("/", errorsBefore)}, after {string.Join("/", errorsAfter)}; host2's restores for the change: {restores}");
            Assert.Equal(errorsBefore, errorsAfter);
            await foreign.AssertUnchangedAsync("after the xtables lock was held and released");
        }
        finally
        {
            if (holder is { HasExited: false })
            {
                holder.Kill(entireProcessTree: true);
            }

            holder?.Dispose();
            directory.Delete(recursive: true);
        }
    }

    private const string AppRulesAdmittingBatch =
        """{ "inbound_rules": [ { "action": "allow", "src_tag": "app" }, { "action": "allow", "src_tag": "web" }, { "action": "allow", "src_tag": "batch" } ], "outbound_rules": [ { "action": "allow" } ] }""";

    /// <summary>
    /// Starts <c>flock FILE sh -c 'echo held; exec sleep N'</c> and returns once it printed
    /// <c>held</c>: flock runs the command only once it holds the lock.
    /// </summary>
    private static async Task<Process> HoldXtablesLockAsync(string lockFile, TimeSpan hold)
    {
        var start = new ProcessStartInfo(Require.Executable("flock", "util-linux"))
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { lockFile, "sh", "-c", $"echo held; exec sleep {hold.TotalSeconds.ToString(CultureInfo.InvariantCulture)}" })
        {
            start.ArgumentList.Add(argument);
        }

        var holder = Process.Start(start) ?? throw new InvalidOperationException("flock did not start");
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.Equal("held", await holder.StandardOutput.ReadLineAsync(bound.Token));
        return holder;
    }
}
