using System.Diagnostics;
using System.Net.Sockets;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.EndToEnd;

/// <summary>
/// The agent's process is not the dataplane: kernel state outlives it. Killed outright, the hosts
/// keep enforcing the article's policy with no agent at all, and an agent started again adopts
/// what is programmed without rewriting a line of it. Stopped with SIGTERM (systemctl stop), it
/// exits cleanly and promptly and leaves everything in place.
/// </summary>
[Collection(LiveArticleCluster.Collection)]
public sealed class AgentRestartTests
{
    /// <summary>"Exits within a few seconds": systemd's stop must not have to escalate to SIGKILL.</summary>
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(5);

    private readonly ITestOutputHelper _output;

    public AgentRestartTests(ITestOutputHelper output)
    {
        Require.Root();
        _output = output;
    }

    [Fact]
    public async Task After_SIGKILL_policy_stays_enforced_and_the_restarted_agents_are_ready_without_executing_a_restore_line()
    {
        await using var live = await LiveArticleCluster.StartAsync(_output);
        var hosts = live.Cluster.Hosts;
        foreach (var host in hosts)
        {
            // The counters count at all: the first agents wrote every rule and set through them.
            var agent = live.Agent(host);
            Assert.Contains(await IptablesLinesAsync(agent), sample => sample.Value > 0);
            Assert.True(await IpsetLinesAsync(agent) > 0, $"{host.Name}'s first agent executed no ipset line");
        }

        var before = await Task.WhenAll(hosts.Select(LiveArticleCluster.KernelStateAsync));
        await Task.WhenAll(hosts.Select(async host =>
        {
            var agent = live.Agent(host);
            await agent.SignalAsync("KILL");
            await agent.WaitForExitAsync(StopBound);
        }));
        live.Log("both agents killed");

        await live.AssertCellsNowAsync(live.Model.Expected(), live.Model.Workloads, "the matrix with no agent running");
        Assert.Equal(before, await Task.WhenAll(hosts.Select(LiveArticleCluster.KernelStateAsync)));

        var clock = Stopwatch.StartNew();
        var restarted = await Task.WhenAll(hosts.Select(live.StartAgentAsync));
        live.Log($"both agents ready again after {clock.ElapsedMilliseconds} ms");
        foreach (var (host, agent) in hosts.Zip(restarted))
        {
            var iptables = await IptablesLinesAsync(agent);
            live.Log($"{host.Name} after restart: felix_iptables_lines_executed {Render(iptables)}; felix_ipset_lines_executed {await IpsetLinesAsync(agent)}");
            // One series per family of the filter table at least, so "all zero" is not vacuous.
            Assert.True(iptables.Count >= 2, $"{host.Name}: expected felix_iptables_lines_executed per family and table, got {Render(iptables)}");
            Assert.All(iptables, sample => Assert.True(sample.Value == 0,
                $"{host.Name}'s restarted agent executed {sample.Value} iptables lines {sample.Key} with nothing changed\n{agent.Output()}"));
            Assert.True(await IpsetLinesAsync(agent) == 0, $"{host.Name}'s restarted agent executed ipset lines with nothing changed\n{agent.Output()}");
        }

        Assert.Equal(before, await Task.WhenAll(hosts.Select(LiveArticleCluster.KernelStateAsync)));
        await live.AssertCellsNowAsync(live.Model.Expected(), live.Model.Workloads, "the matrix after the restart");
    }

    [Fact]
    public async Task SIGTERM_ends_each_agent_with_exit_code_0_within_5_s_and_leaves_the_kernel_state_and_policy_in_place()
    {
        await using var live = await LiveArticleCluster.StartAsync(_output);
        var hosts = live.Cluster.Hosts;
        var db = live.Cluster.Workload("db1");
        var before = await Task.WhenAll(hosts.Select(LiveArticleCluster.KernelStateAsync));

        var exits = await Task.WhenAll(hosts.Select(async host =>
        {
            var agent = live.Agent(host);
            var clock = Stopwatch.StartNew();
            await agent.SignalAsync("TERM");
            var code = await agent.WaitForExitAsync(StopBound);
            return (host, code, clock.Elapsed, agent);
        }));
        foreach (var (host, code, took, agent) in exits)
        {
            live.Log($"{host.Name}'s agent exited {code} {took.TotalMilliseconds:F0} ms after SIGTERM");
            Assert.True(code == 0, $"{host.Name}'s agent exited {code} on SIGTERM\n{agent.Output()}");
        }

        // The chains are still there (the article's db chain, named after db1's interface, among them), and nothing else changed either.
        Assert.True(await LiveArticleCluster.HasChainAsync(db.Host, AddressFamily.InterNetwork, $"felix-to-{db.HostInterface["cali".Length..]}"),
            $"felix-to chain of db1 gone from {db.Host.Name} after SIGTERM");
        Assert.Equal(before, await Task.WhenAll(hosts.Select(LiveArticleCluster.KernelStateAsync)));
        await live.AssertCellsNowAsync(live.Model.Expected(), live.Model.Workloads, "the matrix after both agents stopped");
    }

    private static async Task<IReadOnlyDictionary<string, double>> IptablesLinesAsync(AgentProcess agent) =>
        await LiveArticleCluster.ReadMetricAsync(agent, "felix_iptables_lines_executed");

    private static async Task<double> IpsetLinesAsync(AgentProcess agent)
    {
        var samples = await LiveArticleCluster.ReadMetricAsync(agent, "felix_ipset_lines_executed");
        Assert.True(samples.Count == 1, $"expected one felix_ipset_lines_executed sample, got {Render(samples)}");
        return samples.Values.Single();
    }

    private static string Render(IReadOnlyDictionary<string, double> samples) =>
        samples.Count == 0 ? "(none)" : string.Join(", ", samples.Select(s => $"{s.Key} {s.Value}"));
}
