using Felix.Agent.Datastore.Etcd;
using Felix.Dataplane;
using static Felix.Bench.E2eReport;

namespace Felix.Bench;

/// <summary>
/// Every end-to-end scenario at one size, over the cluster as it is: a cold start over a flushed
/// namespace and its floor (<see cref="E2eColdStart"/>), a restart over what it programmed, then,
/// against the restarted agent, endpoints added and removed, tag member changes, profile rule
/// changes (<see cref="E2eSamples"/>), sustained churn (<see cref="E2eChurn"/>), and the agent's
/// own route read-back time; the agent's peak RSS for each. Targets (full runs, nft) are the issue's.
/// </summary>
internal static class E2eSize
{
    private const double AddOverFloorTarget = 15;
    private const double AddP99Target = 100;
    private const double TagTarget = 10;
    private const double ColdRatioTarget = 1.25;
    private const double ChurnLagTarget = 2_000;
    private const double RouteRefreshTarget = 100;
    private const double RssTarget = 150;

    /// <summary>Returns the endpoint add's p50.</summary>
    public static async Task<double> MeasureAsync(E2eRun run, int size, IReadOnlyDictionary<string, int> indexes)
    {
        var (s, report, cluster, local) = (run.Settings, run.Report, run.Settings.Cluster, size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var targets = s.Targets && s.Backend == "nft";
        var peak = 0.0;
        double Peak(E2eAgent agent)
        {
            var now = agent.PeakRssMegabytes();
            peak = Math.Max(peak, now);
            return now;
        }

        await E2eColdStart.FlushAsync(run.Netns, run.Links, s.Backend);
        E2eColdStart.KernelState state;
        double cold, coldRss;
        await using (var agent = run.StartAgent())
        {
            cold = (await agent.WaitReadyAsync(ReadyTimeout(size, cluster))).TotalMilliseconds;
            coldRss = agent.PeakRssMegabytes();
            Peak(agent);
            state = await E2eColdStart.CaptureAsync(run.Netns, run.Links, s.Backend);
            Console.WriteLine($"  {size} local / {cluster} cluster: cold agent ready in {Millis(cold)} (its first full apply {agent.FirstApplyMillis:0} ms): " +
                $"{state.Chains} chains, {state.Rules} rules, {state.SetLines} set lines, {state.Routes.Count} routes");
            // Where the cold start went, by the agent's own metrics: the programs it ran (restores, saves) and its sysctl writes.
            var programs = await agent.MetricByLabelAsync("felix_exec_time_micros_sum", "command");
            var calls = await agent.MetricByLabelAsync("felix_exec_time_micros_count", "command");
            Console.WriteLine($"      before its first apply {Millis(cold - (agent.FirstApplyMillis ?? double.NaN))}; programs it ran: " +
                string.Join(", ", programs.Select(p => $"{p.Key} {Millis(p.Value / 1000)} (×{calls.GetValueOrDefault(p.Key):0})")) +
                $"; {await agent.MetricAsync("felix_interface_sysctl_writes"):0} sysctl writes");
            if (state.Routes.Count != size + cluster)
            {
                throw new InvalidOperationException($"the ready agent programmed {state.Routes.Count} routes for {size} local and {cluster} remote endpoints");
            }
        }
        await E2eColdStart.FlushAsync(run.Netns, run.Links, s.Backend);
        var floor = await E2eColdStart.RestoreAsync(run.Netns, run.Links, s.Backend, state);
        report.Add(Scenarios[0], local, cluster, new Cells(Millis(cold),
            $"{Millis(floor.Total)} (ipset {Millis(floor.Sets)}, iptables {Millis(floor.Iptables)}, routes {Millis(floor.Routes)})",
            Ratio(cold, floor.Total), coldRss, Verdict(targets && size >= 10_000, cold <= ColdRatioTarget * floor.Total, $"≤ {ColdRatioTarget}× floor")));

        await using var restarted = run.StartAgent();
        var restart = (await restarted.WaitReadyAsync(ReadyTimeout(size, cluster))).TotalMilliseconds;
        report.Add(Scenarios[1], local, cluster, new Cells(Millis(restart), "—", "—", Peak(restarted), "—"));

        var sampler = new E2eSamples(new GrpcEtcdStore(run.Connection), run.Probe, run.Netns, run.Links, restarted, s.Backend, s.Profiles);
        restarted.ResetPeakRss();
        var programsBefore = await ProgramsAsync(restarted);
        var (add, remove) = await sampler.EndpointsAsync(run.SampleEndpoints, indexes);
        var programsAfter = await ProgramsAsync(restarted);
        var changes = 2.0 * run.SampleEndpoints.Count;
        Console.WriteLine("      programs the agent ran per endpoint add or remove (mean over both): " + string.Join(", ", programsAfter
            .Select(p => (p.Key, Time: p.Value.Time - programsBefore.GetValueOrDefault(p.Key).Time, Calls: p.Value.Calls - programsBefore.GetValueOrDefault(p.Key).Calls))
            .Where(p => p.Calls > 0)
            .Select(p => $"{p.Key} {p.Time / p.Calls:0.0} ms × {p.Calls / changes:0.00}")));
        var rss = Peak(restarted);
        var addP50 = SampleRow(report, Scenarios[2], local, cluster, add, rss, (p50, p99, f) =>
            Verdict(targets, p50 <= f + AddOverFloorTarget && p99 <= AddP99Target, $"p50 ≤ floor + {AddOverFloorTarget} ms, p99 ≤ {AddP99Target} ms"));
        SampleRow(report, Scenarios[3], local, cluster, remove, rss, (_, _, _) => "—");

        var members = Enumerable.Range(0, size).Count(e => e % 3 == 1) + Enumerable.Range(0, cluster).Count(r => r % 3 == 1);
        restarted.ResetPeakRss();
        var tag = await sampler.TagChangesAsync(run.SampleEndpoints.Count - 1, members);
        SampleRow(report, Scenarios[4], local, cluster, tag, Peak(restarted), (p50, _, _) => Verdict(targets, p50 <= TagTarget, $"p50 ≤ {TagTarget} ms"));

        restarted.ResetPeakRss();
        var rule = await sampler.RuleChangesAsync(run.SampleEndpoints.Count - 1);
        SampleRow(report, $"{Scenarios[5]}", local, cluster, rule, Peak(restarted), (_, _, _) =>
            $"— (db: used by {Enumerable.Range(0, size).Count(e => e % 3 == 2)} local endpoints)");

        var churn = await E2eChurn.RunAsync(new GrpcEtcdStore(run.Connection), run.Probe, restarted, run.SampleEndpoints, indexes, s.Profiles, s.ChurnRate, s.ChurnSeconds);
        report.Add(Scenarios[6], local, cluster, new Cells(
            $"lag {Millis(churn.LagMillis)}; {churn.Changes} changes in {churn.Seconds:0.0} s ({churn.Changes / churn.Seconds:0}/s); " +
            $"{churn.AppliesPerSecond:0.0} applies/s; CPU {churn.CpuOwn:0.0} s agent + {churn.CpuChildren:0.0} s its children",
            "—", "—", Math.Max(peak, churn.PeakRssMegabytes), Verdict(targets, churn.LagMillis < ChurnLagTarget, $"lag < {ChurnLagTarget / 1000:0} s")));
        peak = Math.Max(peak, churn.PeakRssMegabytes);

        var (listSum, listCount) = (await restarted.MetricAsync("felix_route_table_list_seconds_sum"), await restarted.MetricAsync("felix_route_table_list_seconds_count"));
        var listMillis = listCount > 0 ? listSum / listCount * 1000 : double.NaN;
        report.Add(Scenarios[7], local, cluster, new Cells(
            listCount > 0 ? $"{Millis(listMillis)} mean of {listCount:0} read-backs at {size + cluster} routes" : "no read-back yet",
            "—", "—", Peak(restarted), Verdict(targets && size + cluster >= 100_000 && listCount > 0, listMillis <= RouteRefreshTarget, $"≤ {RouteRefreshTarget} ms")));
        report.Add(Scenarios[8], local, cluster, new Cells($"{peak:0} MB", "—", "—", peak, Verdict(targets && size >= 10_000, peak <= RssTarget, $"≤ {RssTarget} MB")));
        return addP50;
    }

    /// <summary>The first full apply of 10k endpoints and 100k remote routes takes tens of seconds, more on a loaded machine: bounded, but generously.</summary>
    private static TimeSpan ReadyTimeout(int size, int cluster) =>
        TimeSpan.FromSeconds(120) + (size * TimeSpan.FromMilliseconds(30)) + (cluster * TimeSpan.FromMilliseconds(1));

    /// <summary>The agent's time in each program it ran so far (ms) and the number of runs, from <c>felix_exec_time_micros</c>.</summary>
    private static async Task<Dictionary<string, (double Time, double Calls)>> ProgramsAsync(E2eAgent agent)
    {
        var (sums, counts) = (await agent.MetricByLabelAsync("felix_exec_time_micros_sum", "command"), await agent.MetricByLabelAsync("felix_exec_time_micros_count", "command"));
        return sums.ToDictionary(p => p.Key, p => (p.Value / 1000, counts.GetValueOrDefault(p.Key)), StringComparer.Ordinal);
    }

    private static double SampleRow(E2eReport report, string scenario, string local, int cluster, E2eSamples.Figures figures, double rss,
        Func<double, double, double, string> target)
    {
        var agent = figures.Agent.Select(a => a.Millis).ToList();
        var (p50, p99, floor) = (Median(agent), Percentile(agent, 99), Median(figures.Floor));
        report.Add(scenario, local, cluster, new Cells($"p50 {Millis(p50)}, p99 {Millis(p99)} (n={agent.Count})",
            $"p50 {Millis(floor)}: {figures.FloorWhat}", Ratio(p50, floor), rss, target(p50, p99, floor)));
        PrintBreakdown(figures.Agent);
        return p50;
    }

    /// <summary>Where the time went: when the agent's apply began after the put and how long it ran (from its "Dataplane applied in" lines).</summary>
    private static void PrintBreakdown(List<E2eSamples.Sample> samples)
    {
        var logged = samples.Where(s => s.Applies > 0).ToList();
        Console.WriteLine(logged.Count == 0
            ? "      no apply logged (is the agent logging at DEBUG?)"
            : $"      agent's apply began p50 {Median([.. logged.Select(s => s.ApplyStartMillis)]):0.0} ms " +
              $"(max {logged.Max(s => s.ApplyStartMillis):0.0} ms) after the put, " +
              $"lasted p50 {Median([.. logged.Select(s => s.ApplyMillis)]):0.0} ms (applies per sample: at most {logged.Max(s => s.Applies)}); " +
              $"conditions seen at p50 {Median([.. samples.Select(s => s.FirstMillis)]):0.0} / {Median([.. samples.Select(s => s.SecondMillis)]):0.0} ms");
    }
}
