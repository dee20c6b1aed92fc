using Felix.Agent.Hosting.Configuration;
using Felix.Agent.Hosting.Health;
using Felix.Agent.Hosting.Logging;
using Felix.Agent.Hosting.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Felix.Agent.Hosting;

/// <summary>
/// Composes the agent's process: logging, systemd integration, health and metrics. Built on an
/// empty host builder, so nothing reads appsettings files or the environment behind the agent's
/// own configuration rules.
/// </summary>
public static class AgentHost
{
    /// <summary>systemd's default stop timeout is 90 s; the agent promises to be gone within 5.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(4);

    public static IHost Build(FelixConfig config, LogLineFormatter formatter)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = "felix",
            DisableDefaults = true,
        });
        builder.Logging.AddFelixLogging(config.LogSeverityScreen, formatter);
        builder.Services.AddSystemd();
        builder.Services.Configure<HostOptions>(options =>
        {
            options.ShutdownTimeout = ShutdownTimeout;
            options.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });

        var registry = Prometheus.Metrics.DefaultRegistry;
        // Process and GC figures stay; the event-counter and meter bridges would export hundreds
        // of runtime series under names an operator of this agent never asked for.
        Prometheus.Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions
        {
            SuppressEventCounters = true,
            SuppressMeters = true,
        });
        var health = new HealthAggregator(TimeProvider.System);
        AgentMetrics.Register(registry, health, CommandLine.Version);

        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(health);
        builder.Services.AddSingleton(registry);
        builder.Services.AddSingleton<IMetricFactory>(Prometheus.Metrics.WithCustomRegistry(registry));
        if (config.HealthEnabled)
        {
            builder.Services.AddHostedService(services => new HealthServer(
                health, services.GetRequiredService<ILogger<HealthServer>>(), config.HealthHost, config.HealthPort));
        }
        if (config.PrometheusMetricsEnabled)
        {
            builder.Services.AddHostedService(services => new MetricsServer(
                registry, services.GetRequiredService<ILogger<MetricsServer>>(),
                config.PrometheusMetricsHost, config.PrometheusMetricsPort));
        }
        return builder.Build();
    }
}
