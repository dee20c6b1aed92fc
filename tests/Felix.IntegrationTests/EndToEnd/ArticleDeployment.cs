using System.Net;
using System.Text;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;

namespace Felix.IntegrationTests.EndToEnd;

/// <summary>
/// One run of the article on a two-host <see cref="Cluster"/>: the model written to etcd, a
/// listener on the article's ports in every workload, an agent in every host started with the
/// same extra settings, and (unless the agents are to route by themselves) the BGP stand-in
/// routes. <see cref="Diagnostics"/> gathers what a failing assertion needs to say why: every
/// host's filter table, sets, routes and its agent's output.
/// </summary>
public sealed class ArticleDeployment : IAsyncDisposable
{
    // Generous: an agent on a loaded 2-core machine is ready in a few seconds; this only bounds a hang.
    private static readonly TimeSpan ReadinessTimeout = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(10);

    private readonly Dictionary<ClusterHost, AgentProcess> _agents;

    private ArticleDeployment(Cluster cluster, ArticleModel model, Dictionary<ClusterHost, AgentProcess> agents)
    {
        Cluster = cluster;
        Model = model;
        _agents = agents;
    }

    public Cluster Cluster { get; }

    public ArticleModel Model { get; }

    /// <param name="place">Puts the workloads on the cluster's two hosts and says which profile each is in.</param>
    /// <param name="bgpRoutes">Whether the test adds the routes between hosts, as BGP would; off when the agents make them.</param>
    /// <param name="agentSettings">FELIX_* settings every agent gets on top of its host name and etcd.</param>
    public static async Task<ArticleDeployment> StartAsync(Func<Cluster, Task<ArticleModel>> place, bool bgpRoutes,
        IReadOnlyDictionary<string, string> agentSettings)
    {
        ArgumentNullException.ThrowIfNull(place);
        var cluster = await Cluster.StartAsync(hostCount: 2);
        try
        {
            var model = await place(cluster);
            foreach (var workload in model.Workloads)
            {
                cluster.Listen(workload);
            }

            using (var etcd = cluster.CreateEtcdClient())
            {
                await ArticleWriter.WriteAsync(etcd, model);
            }

            if (bgpRoutes)
            {
                await cluster.AddBgpRoutesAsync();
            }

            var agents = new Dictionary<ClusterHost, AgentProcess>();
            foreach (var host in cluster.Hosts)
            {
                agents[host] = await cluster.StartAgentAsync(host, agentSettings);
            }

            return new ArticleDeployment(cluster, model, agents);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Waits until every agent's <c>/readiness</c> answers 200 (in sync with etcd and the
    /// dataplane applied), polling every 100 ms, each agent bounded by <see cref="ReadinessTimeout"/>.
    /// </summary>
    public async Task WaitUntilReadyAsync()
    {
        await Task.WhenAll(_agents.Select(async pair =>
        {
            var (host, agent) = pair;
            try
            {
                await agent.WaitForReadinessAsync(ReadinessTimeout);
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"{host.Name}: {e.Message}\n{await DiagnosticsAsync()}", e);
            }
        }));
    }

    /// <summary>Lines an agent logged at ERROR or CRITICAL, prefixed with its host: none is expected while the article is applied.</summary>
    public IReadOnlyList<string> LoggedErrors() =>
        [.. _agents.SelectMany(pair => pair.Value.StandardOutput.Concat(pair.Value.StandardError)
            .Where(line => line.Contains("[ERROR]", StringComparison.Ordinal) || line.Contains("[CRITICAL]", StringComparison.Ordinal))
            .Select(line => $"{pair.Key.Name}: {line}"))];

    /// <summary>Runs <paramref name="command"/> inside <paramref name="host"/>, bounded; throws unless it succeeds.</summary>
    public static async Task<string> RunOnAsync(ClusterHost host, params string[] command)
    {
        ArgumentNullException.ThrowIfNull(host);
        return (await host.Namespace.ExecAsync(CommandTimeout, command)).EnsureSuccess().StandardOutput;
    }

    /// <summary>
    /// Every host's kernel state as the agent left it, and every agent's output: the filter tables
    /// of both iptables backends and both families, the sets, the routes of both families.
    /// </summary>
    public async Task<string> DiagnosticsAsync()
    {
        string[][] commands =
        [
            ["iptables-nft-save", "-t", "filter"], ["iptables-legacy-save", "-t", "filter"],
            ["ip6tables-nft-save", "-t", "filter"], ["ip6tables-legacy-save", "-t", "filter"],
            ["ipset", "list"], ["ip", "-4", "route"], ["ip", "-6", "route"],
        ];
        var text = new StringBuilder();
        foreach (var host in Cluster.Hosts)
        {
            foreach (var command in commands)
            {
                var result = await host.Namespace.ExecAsync(CommandTimeout, command);
                text.Append("==== ").Append(host.Name).Append(": ").AppendJoin(' ', command).Append('\n')
                    .Append(result.StandardOutput).Append(result.StandardError).Append('\n');
            }

            text.Append("==== ").Append(host.Name).Append(": agent output\n").Append(_agents[host].Output()).Append('\n');
        }

        return text.ToString();
    }

    public ValueTask DisposeAsync() => Cluster.DisposeAsync();
}
