using System.Diagnostics;
using System.Globalization;
using System.Text;
using dotnet_etcd;
using Felix.IntegrationTests.EndToEnd;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.Faults;

/// <summary>
/// Sustained endpoint churn against the published agent, in rounds: each round puts and deletes
/// endpoints of a pool at <see cref="Rate"/> changes a second (every put a route, two chains, a
/// dispatch rule and a tag-set member; every delete their removal). After each round the kernel
/// must hold exactly the final state within <see cref="ConvergenceBound"/> of the last change,
/// and the agent's memory, once it has settled, must come back to where it was before the churn:
/// a leak of a few hundred bytes per change is thousands of changes a round, so growth across the
/// rounds shows it. The round length is 20 s here (three rounds: 60 s of churn); the documented
/// long run sets <c>FELIX_LOAD_ROUND_SECONDS=60</c>.
/// </summary>
[Collection(LiveArticleCluster.Collection)]
public sealed class ChurnLoadTests
{
    private const int Rate = 200;
    private const int PoolSize = 200;
    private const int Rounds = 3;
    private const string Profile = "load";
    private static readonly TimeSpan ConvergenceBound = TimeSpan.FromSeconds(2);

    private readonly ITestOutputHelper _output;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public ChurnLoadTests(ITestOutputHelper output)
    {
        Require.Root();
        _output = output;
    }

    /// <summary>Five double passes (10 s) grow the tables to their working size; the extra half pass turns the first half of the pool on.</summary>
    private const int WarmUpChanges = 5 * 2 * PoolSize + PoolSize / 2;

    /// <summary>A round's changes, rounded down to whole double passes over the pool.</summary>
    private static int RoundChanges => Math.Max(1, Rate * RoundSeconds / (2 * PoolSize)) * 2 * PoolSize;

    private static int RoundSeconds =>
        int.TryParse(Environment.GetEnvironmentVariable("FELIX_LOAD_ROUND_SECONDS"), CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? seconds
            : 20;

    [Fact]
    public async Task Three_rounds_of_200_endpoint_changes_a_second_converge_within_2_s_and_leave_memory_where_it_was()
    {
        await using var cluster = await Cluster.StartAsync(hostCount: 1);
        var host = cluster.Hosts[0];
        var pool = Enumerable.Range(1, PoolSize).Select(i => new LoadEndpoint(host.Name, i)).ToList();
        await CreateInterfacesAsync(host, pool);
        using var etcd = cluster.CreateEtcdClient();
        await etcd.PutAsync($"/calico/v1/policy/profile/{Profile}/rules",
            """{"inbound_rules":[{"action":"allow","src_tag":"load"}],"outbound_rules":[{"action":"allow"}]}""");
        await etcd.PutAsync($"/calico/v1/policy/profile/{Profile}/tags", """["load"]""");
        await etcd.PutAsync("/calico/v1/Ready", "true");

        var agent = await cluster.StartAgentAsync(host, new Dictionary<string, string> { ["FELIX_IPTABLESBACKEND"] = "nft" });
        await agent.WaitForReadinessAsync(LiveArticleCluster.ReadyTimeout);
        var idle = await SettledRssAsync(agent);
        Log($"settled RSS before any churn: {Mb(idle)}");
        var on = new bool[PoolSize];
        var kernel = new LoadKernelState(host, pool);
        // One round before the baseline: the first churn grows the agent's tables and pools to
        // their working size, which is not a leak; what must not happen is growth after that.
        var baseline = await ChurnRoundAsync(etcd, agent, kernel, pool, on, round: 0);
        var after = new List<long>();
        for (var round = 1; round <= Rounds; round++)
        {
            after.Add(await ChurnRoundAsync(etcd, agent, kernel, pool, on, round));
        }

        Log($"settled RSS: warm-up {Mb(baseline)}, rounds {string.Join(", ", after.Select(Mb))}");
        // Room for where the collector happened to be when the churn stopped (identical rounds
        // here settle up to ~9 MB apart), and no more: a leak of 1 KB per change would add 12 MB
        // over the three rounds' 12,000 changes.
        var slack = Math.Max(baseline / 5, 12L << 20);
        Assert.All(after, rss => Assert.True(rss <= baseline + slack,
            $"settled RSS {Mb(rss)} after a round exceeds the warm-up's {Mb(baseline)} by more than {Mb(slack)}: {string.Join(", ", after.Select(Mb))}"));
        Assert.True(await agent.HealthStatusAsync("liveness", TimeSpan.FromSeconds(5)) == System.Net.HttpStatusCode.OK, $"agent not live after the churn\n{agent.Output()}");
    }

    private async Task<long> ChurnRoundAsync(EtcdClient etcd, AgentProcess agent, LoadKernelState kernel, List<LoadEndpoint> pool, bool[] on, int round)
    {
        // Whole double passes over the pool leave every endpoint as it was; the warm-up's extra half
        // pass turns the first half on, so every round ends in the same state and their memory compares.
        var changes = round == 0 ? WarmUpChanges : RoundChanges;
        var started = Stopwatch.StartNew();
        for (var sent = 0; sent < changes; sent++)
        {
            var due = TimeSpan.FromSeconds((double)sent / Rate) - started.Elapsed;
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due);
            }

            var slot = sent % PoolSize;
            on[slot] = !on[slot];
            if (on[slot])
            {
                await etcd.PutAsync(pool[slot].Key, pool[slot].Json(Profile));
            }
            else
            {
                await etcd.DeleteAsync(pool[slot].Key);
            }
        }

        var churn = started.Elapsed;
        var lastChange = Stopwatch.StartNew();
        var expected = pool.Where((_, slot) => on[slot]).ToList();
        var converged = await kernel.WaitUntilExactlyAsync(expected, TimeSpan.FromSeconds(30));
        Assert.True(converged is not null, $"round {round}: the kernel did not reach the final state within 30 s\n{await kernel.DescribeAsync(expected)}\n{agent.Output()}");
        var lag = lastChange.Elapsed;
        Log($"round {round}: {changes} changes in {churn.TotalSeconds:F1} s ({changes / churn.TotalSeconds:F0}/s), {expected.Count} endpoints on, converged {lag.TotalMilliseconds:F0} ms after the last");
        Assert.True(lag <= ConvergenceBound, $"round {round}: converged {lag.TotalMilliseconds:F0} ms after the last change, bound {ConvergenceBound.TotalMilliseconds} ms");

        var rss = await SettledRssAsync(agent);
        var heap = (await LiveArticleCluster.ReadMetricAsync(agent, "dotnet_total_memory_bytes")).Values.Single();
        Log($"round {round}: settled RSS {Mb(rss)}, GC heap {Mb((long)heap)}");
        return rss;
    }

    /// <summary>
    /// The agent's resident set once idle: the least of six readings over 3 s, taken after 2 s of
    /// quiet, so a collection in flight or a refresh's transient buffers are not counted.
    /// </summary>
    private static async Task<long> SettledRssAsync(AgentProcess agent)
    {
        await Task.Delay(TimeSpan.FromSeconds(2));
        var least = long.MaxValue;
        for (var i = 0; i < 6; i++)
        {
            least = Math.Min(least, ResidentBytes(agent.ProcessId));
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }

        return least;
    }

    private static long ResidentBytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>Every pool interface as a veth with both ends in the host, up: what the CNI plugin leaves before the endpoint is written.</summary>
    private static async Task CreateInterfacesAsync(ClusterHost host, IEnumerable<LoadEndpoint> pool)
    {
        var script = new StringBuilder();
        foreach (var endpoint in pool)
        {
            script.Append(CultureInfo.InvariantCulture, $"link add {endpoint.Interface} type veth peer name {endpoint.Peer}\n");
            script.Append(CultureInfo.InvariantCulture, $"link set {endpoint.Peer} up\nlink set {endpoint.Interface} up\n");
        }

        var result = await host.Namespace.ExecWithInputAsync(script.ToString(), "ip", "-batch", "-");
        Assert.True(result.ExitCode == 0, $"creating the pool's interfaces failed: {result.StandardError}");
    }

    private static string Mb(long bytes) => $"{bytes / 1048576.0:F1} MB";

    private void Log(string line) => _output.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:F2} s] {line}");
}
