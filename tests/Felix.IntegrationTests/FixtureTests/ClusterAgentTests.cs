using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;

namespace Felix.IntegrationTests.FixtureTests;

/// <summary>
/// The agent binary started by the cluster inside a host namespace: it reaches the cluster's etcd
/// over the LAN with the settings <see cref="Cluster.AgentEnvironment"/> gives it, and the test
/// reaches its health port on that namespace's loopback. This is the plumbing every end-to-end
/// test stands on; what the agent then programs is theirs to check.
/// </summary>
public sealed class ClusterAgentTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    public ClusterAgentTests()
    {
        Require.Root();
    }

    [Fact]
    public async Task Agent_in_a_host_is_live_and_reports_its_status_to_the_clusters_etcd()
    {
        await using var cluster = await Cluster.StartAsync(hostCount: 2);
        var model = await ArticleModel.PlaceAsync(cluster);
        using var etcd = cluster.CreateEtcdClient();
        await ArticleWriter.WriteAsync(etcd, model);
        var host1 = cluster.Host("host1");

        var agent = await cluster.StartAgentAsync(host1);
        await agent.WaitForLivenessAsync(StartTimeout);

        // The first report is written at start-up; poll for it a bounded number of times.
        string? status = null;
        for (var attempt = 0; attempt < 80 && string.IsNullOrEmpty(status); attempt++)
        {
            status = await etcd.GetValAsync("/calico/felix/v1/host/host1/status", deadline: DateTime.UtcNow.AddSeconds(5));
            if (string.IsNullOrEmpty(status))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250));
            }
        }

        Assert.False(string.IsNullOrEmpty(status), $"host1's agent never reported its status to {cluster.Etcd.ClientUrl}\n{agent.Output()}");
        Assert.Contains("\"uptime\"", status, StringComparison.Ordinal);
        using var http = AgentProcess.CreateHttpClient(TimeSpan.FromSeconds(5));
        var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{agent.MetricsPort}/metrics"));
        Assert.Contains("felix_ready", metrics, StringComparison.Ordinal);
    }
}
