using System.Diagnostics;
using System.Net.Sockets;
using Felix.IntegrationTests.EndToEnd;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;

namespace Felix.IntegrationTests.Faults;

public sealed partial class AgentFaultTests
{
    private const string BulkProfile = "bulk";
    private const string BulkHost = "host9";
    private const int BulkEndpoints = 240;
    private const int BulkTags = 100;

    /// <summary>Covers a loaded two-core machine; the agent's large apply below takes about a second there.</summary>
    private static readonly TimeSpan ApplyDetectionBound = TimeSpan.FromSeconds(20);

    /// <summary>An <c>ipset restore</c> applies each line as it reads it: after this long it has applied some and not all of 48,000.</summary>
    private static readonly TimeSpan RestoreRunningBeforeKill = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// One etcd revision that makes host1's agent write a lot at once: 240 endpoints of a third,
    /// agent-less host carry <c>db-users</c> and 100 new tags that db's rules now refer to, so 100
    /// new sets per family are created and filled with 240 members each (48,000 ipset lines), 240
    /// members join <c>db-users</c>, and db's inbound chain grows by 100 rules per family. The
    /// agent is killed with SIGKILL, together with the restore it is running (as systemd kills a
    /// unit's whole control group), at the moment a restore child is seen under it, so the kernel
    /// is left with part of the batch applied. None of the batch touches a probed path, and the
    /// probes must see that: the half-applied kernel state enforces the old policy or the new, never
    /// a mix that opens or closes anything. The restarted agent must converge to every member and
    /// every rule, and a clean second restart must find nothing to change — no leftovers.
    /// </summary>
    [Fact]
    public async Task SIGKILL_in_the_middle_of_a_large_apply_then_a_restart_converges_to_the_full_state_with_probes_clean()
    {
        await using var live = await LiveArticleCluster.StartAsync(_output);
        var foreign = await InstalledForeignState.InstallAsync(live);
        var host = live.Host1;
        var firstAgent = live.Agent(host);
        // Half of the endpoints first: without their profile's tags they change nothing in the
        // kernel, so the revision below is the one that brings all the work.
        await PutInOneTransactionAsync(live.Etcd, [.. Enumerable.Range(0, BulkEndpoints / 2).Select(n => RemoteEndpoint(BulkHost, n, BulkProfile))]);
        await live.WaitForAsync(async () => await MetricSumAsync(firstAgent, "felix_cluster_num_workload_endpoints") >= (BulkEndpoints / 2) + 5,
            TimeSpan.FromSeconds(10), "host1's agent counting the first bulk endpoints");

        await using var probes = ProbeRun.Start(live);
        var tags = new[] { ArticleModel.DbUsers }.Concat(Enumerable.Range(0, BulkTags).Select(BulkTag)).ToList();
        List<KeyValuePair<string, string>> batch =
        [
            .. Enumerable.Range(BulkEndpoints / 2, BulkEndpoints / 2).Select(n => RemoteEndpoint(BulkHost, n, BulkProfile)),
            new(ArticleModel.TagsKey(BulkProfile), System.Text.Json.JsonSerializer.Serialize(tags)),
            new(ArticleModel.RulesKey(ArticleModel.Db), BulkDbRules()),
        ];
        var clock = Stopwatch.StartNew();
        await PutInOneTransactionAsync(live.Etcd, batch);
        var written = clock.Elapsed;

        var caught = await KillDuringRestoreAsync(firstAgent, clock);
        live.Log($"large batch written in {written.TotalMilliseconds:F0} ms; {host.Name}'s agent and its {string.Join(", ", caught.Select(c => c.Describe))} "
            + $"killed {caught[0].At.TotalMilliseconds:F0} ms after the write started");

        // The kernel as the kill left it, with no agent: the probes run on meanwhile.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var halfApplied = await BulkProgressAsync(host);
        live.Log($"{host.Name} as the kill left it: {halfApplied}");
        Assert.False(halfApplied.IsComplete, $"{host.Name} held the whole batch when its agent was killed: the kill came after the apply");

        clock.Restart();
        var restarted = await live.StartAgentAsync(host);
        var ready = clock.Elapsed;
        var reports = await probes.StopAsync();
        var converged = await BulkProgressAsync(host);
        live.Log($"{host.Name}'s restarted agent ready after {ready.TotalMilliseconds:F0} ms, having executed "
            + $"{await MetricSumAsync(restarted, "felix_iptables_lines_executed")} iptables and {await MetricSumAsync(restarted, "felix_ipset_lines_executed")} ipset lines; "
            + $"kernel: {converged}");

        AssertProbesClean(live, reports, "SIGKILL mid-apply and restart");
        Assert.True(converged.IsComplete, $"{host.Name} after the restart: {converged}\n{restarted.Output()}");
        await live.AssertMatrixAsync(live.Model.Expected(), live.Model.Workloads, "the article's matrix after the SIGKILL and restart");
        await AssertCleanRestartChangesNothingAsync(live, host, "after the restart that followed the SIGKILL");
        await foreign.AssertUnchangedAsync("after the SIGKILL mid-apply and two restarts");
    }

    /// <summary>How much of the bulk batch the kernel of <paramref name="host"/> holds.</summary>
    private sealed record BulkProgress(int DbUsersV4, int DbUsersV6, int BulkSets, int FullBulkSets, int BulkRulesV4, int BulkRulesV6, IReadOnlyList<string> OtherFelixSets)
    {
        public bool IsComplete =>
            DbUsersV4 == BulkEndpoints + 1 && DbUsersV6 == BulkEndpoints + 1 && BulkSets == 2 * BulkTags && FullBulkSets == 2 * BulkTags
            && BulkRulesV4 == BulkTags && BulkRulesV6 == BulkTags && OtherFelixSets.Count == 0;

        public override string ToString() =>
            $"db-users members v4 {DbUsersV4}, v6 {DbUsersV6} (want {BulkEndpoints + 1}); bulk sets {BulkSets}, full {FullBulkSets} (want {2 * BulkTags}); "
            + $"bulk rules v4 {BulkRulesV4}, v6 {BulkRulesV6} (want {BulkTags} each); other felix sets (temporaries, leftovers): [{string.Join(", ", OtherFelixSets)}]";
    }

    private static async Task<BulkProgress> BulkProgressAsync(ClusterHost host)
    {
        var saved = (await host.Namespace.ExecCheckedAsync("ipset", "save")).StandardOutput.Split('\n');
        var members = saved.Where(l => l.StartsWith("add ", StringComparison.Ordinal)).GroupBy(l => l.Split(' ')[1]).ToDictionary(g => g.Key, g => g.Count());
        var sets = saved.Where(l => l.StartsWith("create ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]).ToList();
        var bulkSets = sets.Where(s => s.StartsWith("felix-v4-bulk-", StringComparison.Ordinal) || s.StartsWith("felix-v6-bulk-", StringComparison.Ordinal)).ToList();
        var known = new HashSet<string>(StringComparer.Ordinal) { ForeignState.AdminSet };
        foreach (var family in new[] { "v4", "v6" })
        {
            foreach (var tag in ArticleModel.Profiles.Append(ArticleModel.DbUsers))
            {
                known.Add($"felix-{family}-{tag}");
            }
        }

        int Rules(string table, string family) =>
            table.Split('\n').Count(l => l.StartsWith("-A felix-p-db-i ", StringComparison.Ordinal) && l.Contains($"felix-{family}-bulk-", StringComparison.Ordinal));
        var v4 = await LiveArticleCluster.SaveFilterTableAsync(host, AddressFamily.InterNetwork);
        var v6 = await LiveArticleCluster.SaveFilterTableAsync(host, AddressFamily.InterNetworkV6);
        return new BulkProgress(
            members.GetValueOrDefault("felix-v4-db-users"), members.GetValueOrDefault("felix-v6-db-users"),
            bulkSets.Count, bulkSets.Count(s => members.GetValueOrDefault(s) == BulkEndpoints),
            Rules(v4, "v4"), Rules(v6, "v6"),
            [.. sets.Where(s => s.StartsWith("felix-", StringComparison.Ordinal) && !known.Contains(s) && !bulkSets.Contains(s)
                && !s.Contains("ipam-pools", StringComparison.Ordinal))]);
    }

    private sealed record CaughtRestore(int Pid, string Command, TimeSpan At, bool WasRunning)
    {
        public string Describe => $"{Command} (pid {Pid}, {(WasRunning ? "running" : "already exited")})";
    }

    /// <summary>
    /// Polls the agent's children (bounded by <see cref="ApplyDetectionBound"/>) until a restore has
    /// been running for <see cref="RestoreRunningBeforeKill"/>, so it has written part of its input,
    /// then SIGKILLs the agent first and every restore child after it, as systemd's
    /// <c>KillMode=control-group</c> does on <c>systemctl kill -s KILL</c>.
    /// </summary>
    private static async Task<IReadOnlyList<CaughtRestore>> KillDuringRestoreAsync(AgentProcess agent, Stopwatch clock)
    {
        var deadline = clock.Elapsed + ApplyDetectionBound;
        var firstSeen = new Dictionary<int, TimeSpan>();
        while (clock.Elapsed < deadline)
        {
            var restores = Children(agent.ProcessId).Where(c => IsRestore(c.Command)).ToList();
            foreach (var (pid, _) in restores)
            {
                firstSeen.TryAdd(pid, clock.Elapsed);
            }

            if (restores.Any(r => clock.Elapsed - firstSeen[r.Pid] >= RestoreRunningBeforeKill))
            {
                var at = clock.Elapsed;
                using (var process = Process.GetProcessById(agent.ProcessId))
                {
                    process.Kill();
                }

                var caught = new List<CaughtRestore>();
                foreach (var (pid, command) in restores)
                {
                    var running = false;
                    try
                    {
                        using var child = Process.GetProcessById(pid);
                        running = !child.HasExited;
                        child.Kill();
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                    {
                        // It finished on its own between the poll and the kill.
                    }

                    caught.Add(new CaughtRestore(pid, string.Join(' ', command.Take(2)), at, running));
                }

                await agent.WaitForExitAsync(ExitBound);
                return caught;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(1));
        }

        Assert.Fail($"no restore started under the agent within {ApplyDetectionBound} of the large write\n{agent.Output()}");
        return [];
    }

    private static string BulkTag(int number) => $"bulk-{number}";

    /// <summary>The article's db rules, then one rule per bulk tag on a port nobody listens on: the matrix stays the article's.</summary>
    private static string BulkDbRules()
    {
        var bulk = Enumerable.Range(0, BulkTags).Select(n => $$"""{ "action": "allow", "src_tag": "{{BulkTag(n)}}", "protocol": "tcp", "dst_ports": [5432] }""");
        return $$"""{ "inbound_rules": [ { "action": "allow", "src_tag": "db" }, { "action": "allow", "src_tag": "db-users", "protocol": "tcp", "dst_ports": [3306] }, {{string.Join(", ", bulk)}} ], "outbound_rules": [ { "action": "allow" } ] }""";
    }
}
