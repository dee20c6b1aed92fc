using Felix.Agent.Hosting.Health;
using Felix.Agent.Hosting.Metrics;
using Prometheus;

namespace Felix.Agent.Tests.Hosting;

public class MetricsTests
{
    [Fact]
    public async Task Ready_and_live_gauges_follow_the_health_aggregator()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var health = new HealthAggregator(TimeProvider.System);
        AgentMetrics.Register(registry, health, "1.2.3");
        var reporter = health.Register("datastore", reportsReadiness: true);

        var before = await ExportAsync(registry);
        reporter.Report(live: true, ready: true, "in sync");
        var after = await ExportAsync(registry);

        Assert.Contains("felix_ready 0", before, StringComparison.Ordinal);
        Assert.Contains("felix_live 1", before, StringComparison.Ordinal);
        Assert.Contains("felix_build_info{version=\"1.2.3\"} 1", before, StringComparison.Ordinal);
        Assert.Contains("# TYPE felix_ready gauge", before, StringComparison.Ordinal);
        Assert.Contains("felix_ready 1", after, StringComparison.Ordinal);
    }

    private static async Task<string> ExportAsync(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
