using System.Globalization;
using System.Net;
using Felix.IntegrationTests.EndToEnd;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.Faults;

/// <summary>
/// Faults around a running agent on the live article cluster (issue 12): the agent killed in the
/// middle of a large apply, etcd stopped for a minute, etcd compacted under the agent's watch, the
/// xtables lock held by another program. Design: every test installs another program's and an
/// admin's state (<see cref="ForeignState"/>) in both hosts once they are up, probes the article's
/// allowed and denied paths back to back for the whole fault (<see cref="ProbeRun"/>), and at the
/// end asserts no probe saw an allowed path closed or a denied one open, the foreign state byte
/// for byte as installed, the policy matrix of the final model, and what the fault itself is about.
/// One file per fault; the helpers shared by all of them are here.
/// </summary>
[Collection(LiveArticleCluster.Collection)]
public sealed partial class AgentFaultTests
{
    /// <summary>"Exits within a few seconds": a SIGTERM or SIGKILL must not need longer.</summary>
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan PutTimeout = TimeSpan.FromSeconds(10);

    private readonly ITestOutputHelper _output;

    public AgentFaultTests(ITestOutputHelper output)
    {
        Require.Root();
        _output = output;
    }

    /// <summary>The foreign state of every host of the cluster, as installed.</summary>
    private sealed record InstalledForeignState(IReadOnlyList<(ForeignState State, string Snapshot)> Hosts)
    {
        public static async Task<InstalledForeignState> InstallAsync(LiveArticleCluster live, string backend = "nft", string? lockFile = null)
        {
            var hosts = new List<(ForeignState, string)>();
            foreach (var host in live.Cluster.Hosts)
            {
                var state = await ForeignState.InstallAsync(host, backend, lockFile);
                hosts.Add((state, await state.SnapshotAsync()));
            }

            return new InstalledForeignState(hosts);
        }

        public async Task AssertUnchangedAsync(string after)
        {
            foreach (var (state, snapshot) in Hosts)
            {
                await state.AssertUnchangedAsync(snapshot, after);
            }
        }
    }

    /// <summary>
    /// <see cref="ContinuousProbes"/> sessions back to back for a fault longer than one session may
    /// run: each ends after <see cref="SessionLength"/> and the next starts at once (only the
    /// probes in flight are waited for in between), at most <see cref="MaxSessions"/> of them.
    /// </summary>
    private sealed class ProbeRun : IAsyncDisposable
    {
        private static readonly TimeSpan SessionLength = TimeSpan.FromSeconds(50);
        private const int MaxSessions = 4;

        private readonly CancellationTokenSource _stop = new();
        private readonly Task<List<ProbeReport>> _running;

        private ProbeRun(IReadOnlyList<ProbedPath> paths) => _running = RunAsync(paths);

        public static ProbeRun Start(LiveArticleCluster live) => new(ContinuousProbes.ArticlePaths(live.Cluster));

        /// <summary>Stops the session running and returns every session's report.</summary>
        public async Task<IReadOnlyList<ProbeReport>> StopAsync()
        {
            await _stop.CancelAsync();
            return await _running;
        }

        /// <summary>Stops the probes of a test that failed before it read them.</summary>
        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _stop.Dispose();
        }

        private async Task<List<ProbeReport>> RunAsync(IReadOnlyList<ProbedPath> paths)
        {
            var reports = new List<ProbeReport>();
            while (!_stop.IsCancellationRequested && reports.Count < MaxSessions)
            {
                var session = ContinuousProbes.Start(paths);
                try
                {
                    await Task.Delay(SessionLength, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    // Stopped: this session's report is the last.
                }

                reports.Add(await session.StopAsync());
                await session.DisposeAsync();
            }

            return reports;
        }
    }

    /// <summary>Logs every session's counts and fails on any unexpected probe.</summary>
    private static void AssertProbesClean(LiveArticleCluster live, IReadOnlyList<ProbeReport> reports, string what)
    {
        for (var i = 0; i < reports.Count; i++)
        {
            var report = reports[i];
            live.Log($"{what}, probe session {i + 1}: {report.ProbeCount} probes in {report.Duration.TotalSeconds:F1} s, "
                + $"{report.UnexpectedCount} unexpected\n{report.Describe()}");
        }

        for (var i = 0; i < reports.Count; i++)
        {
            reports[i].AssertNoUnexpected($"{what}, probe session {i + 1}");
        }
    }

    /// <summary>The HTTP status of the agent's <c>/liveness</c> or <c>/readiness</c>, or 0 when nothing answered within a second.</summary>
    private static async Task<int> HealthAsync(AgentProcess agent, string path) =>
        (int)(await agent.HealthStatusAsync(path, TimeSpan.FromSeconds(1)) ?? 0);

    /// <summary>The sum of every series of <paramref name="metric"/> (families, tables).</summary>
    private static async Task<double> MetricSumAsync(AgentProcess agent, string metric) =>
        (await LiveArticleCluster.ReadMetricAsync(agent, metric)).Values.Sum();

    /// <summary>
    /// The processes the agent has started and not yet reaped, from every thread's
    /// <c>/proc/PID/task/TID/children</c>, each with its command line; a process gone between the
    /// two reads is left out.
    /// </summary>
    private static List<(int Pid, string[] Command)> Children(int pid)
    {
        var children = new List<(int, string[])>();
        string[] tasks;
        try
        {
            tasks = Directory.GetDirectories($"/proc/{pid}/task");
        }
        catch (DirectoryNotFoundException)
        {
            return children;
        }

        foreach (var task in tasks)
        {
            string list;
            try
            {
                list = File.ReadAllText(Path.Combine(task, "children"));
            }
            catch (IOException)
            {
                continue;
            }

            foreach (var child in list.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(c => int.Parse(c, CultureInfo.InvariantCulture)))
            {
                try
                {
                    var command = File.ReadAllText($"/proc/{child}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
                    if (command.Length > 0)
                    {
                        children.Add((child, command));
                    }
                }
                catch (IOException)
                {
                    // Exited between the two reads.
                }
            }
        }

        return children;
    }

    /// <summary>Whether <paramref name="command"/> writes to the kernel: an iptables/ip6tables restore or an <c>ipset restore</c>.</summary>
    private static bool IsRestore(string[] command) =>
        Path.GetFileName(command[0]).EndsWith("-restore", StringComparison.Ordinal)
        || (Path.GetFileName(command[0]) == "ipset" && command.Length > 1 && command[1] == "restore");

    /// <summary>
    /// Stops <paramref name="host"/>'s agent with SIGTERM (systemctl restart), starts a new one and
    /// waits until it is ready; asserts the new agent executed not one iptables or ipset line and
    /// the kernel state is the same text before and after. A fresh agent computes everything from
    /// etcd alone, so this proves what the old one left is exactly the desired state of the final
    /// model, with nothing missing and nothing left over.
    /// </summary>
    private static async Task AssertCleanRestartChangesNothingAsync(LiveArticleCluster live, ClusterHost host, string what)
    {
        var before = await LiveArticleCluster.KernelStateAsync(host);
        var old = live.Agent(host);
        await old.SignalAsync("TERM");
        Assert.Equal(0, await old.WaitForExitAsync(ExitBound));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var agent = await live.StartAgentAsync(host);
        var iptables = await MetricSumAsync(agent, "felix_iptables_lines_executed");
        var ipset = await MetricSumAsync(agent, "felix_ipset_lines_executed");
        live.Log($"{host.Name}: clean restart {what}: ready after {clock.ElapsedMilliseconds} ms, "
            + $"felix_iptables_lines_executed {iptables}, felix_ipset_lines_executed {ipset}");
        var after = await LiveArticleCluster.KernelStateAsync(host);
        Assert.True(before == after, $"{host.Name}: a clean restart {what} changed the kernel state:\n{Diff(before, after)}\n{agent.Output()}");
        Assert.True(iptables == 0 && ipset == 0,
            $"{host.Name}: a clean restart {what} executed {iptables} iptables and {ipset} ipset lines\n{agent.Output()}");
    }

    /// <summary>The lines only one of two texts has, for failure messages.</summary>
    private static string Diff(string before, string after)
    {
        var (a, b) = (before.Split('\n').ToHashSet(StringComparer.Ordinal), after.Split('\n').ToHashSet(StringComparer.Ordinal));
        return string.Join('\n', a.Except(b).Select(l => "- " + l).Concat(b.Except(a).Select(l => "+ " + l)).Take(60));
    }

    /// <summary>A workload endpoint's key on a host with no agent and no namespace: only its addresses matter, as members of tag sets.</summary>
    private static KeyValuePair<string, string> RemoteEndpoint(string host, int number, string profile)
    {
        var (high, low) = (number / 250, (number % 250) + 1);
        var v4 = IPAddress.Parse($"192.168.{200 + high}.{low}");
        var v6 = IPAddress.Parse($"fd80:24e2:f998:72d6::c8:{number:x}");
        var name = $"calib{number:x10}";
        var value = $$"""{"state":"active","name":"{{name}}","mac":"ee:ee:ee:ee:ee:ee","profile_ids":["{{profile}}"],"ipv4_nets":["{{v4}}/32"],"ipv6_nets":["{{v6}}/128"]}""";
        return new($"/calico/v1/host/{host}/workload/{ArticleModel.Orchestrator}/bulk{number}/endpoint/{name[4..]}", value);
    }

    /// <summary>Puts every pair in one etcd transaction (at most etcd's default of 128 operations), so a watcher sees them as one revision.</summary>
    private static async Task PutInOneTransactionAsync(dotnet_etcd.EtcdClient etcd, List<KeyValuePair<string, string>> pairs)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pairs.Count, 128);
        var request = new Etcdserverpb.TxnRequest();
        foreach (var (key, value) in pairs)
        {
            request.Success.Add(new Etcdserverpb.RequestOp
            {
                RequestPut = new Etcdserverpb.PutRequest
                {
                    Key = Google.Protobuf.ByteString.CopyFromUtf8(key),
                    Value = Google.Protobuf.ByteString.CopyFromUtf8(value),
                },
            });
        }

        var response = await etcd.TransactionAsync(request, deadline: DateTime.UtcNow + PutTimeout);
        Assert.True(response.Succeeded, "the etcd transaction did not succeed");
    }

    /// <summary>Compacts etcd to its latest revision, so any watcher behind it is told its start revision is gone.</summary>
    private static async Task<long> CompactToLatestAsync(dotnet_etcd.EtcdClient etcd)
    {
        var latest = (await etcd.GetAsync("/calico/v1/Ready", deadline: DateTime.UtcNow + PutTimeout)).Header.Revision;
        await etcd.CompactAsync(new Etcdserverpb.CompactionRequest { Revision = latest, Physical = true }, deadline: DateTime.UtcNow + PutTimeout);
        return latest;
    }
}
