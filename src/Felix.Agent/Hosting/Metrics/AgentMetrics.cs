using Felix.Agent.Hosting.Health;
using Prometheus;

namespace Felix.Agent.Hosting.Metrics;

/// <summary>
/// The agent-wide metrics owned by the host itself: which build is running and whether the agent
/// is live and ready, sampled from the <see cref="HealthAggregator"/> at each scrape so the figures
/// can never disagree with the health endpoints. Components register their own metrics.
/// </summary>
public static class AgentMetrics
{
    public static void Register(CollectorRegistry registry, HealthAggregator health, string version)
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        factory.CreateGauge("felix_build_info", "Always 1; the labels name the running build.", "version")
            .WithLabels(version).Set(1);
        var live = factory.CreateGauge("felix_live", "1 when the agent reports itself live (as /liveness does).");
        var ready = factory.CreateGauge("felix_ready", "1 when the agent reports itself ready (as /readiness does).");
        registry.AddBeforeCollectCallback(() =>
        {
            var snapshot = health.Snapshot();
            live.Set(snapshot.Live ? 1 : 0);
            ready.Set(snapshot.Ready ? 1 : 0);
        });
    }
}
