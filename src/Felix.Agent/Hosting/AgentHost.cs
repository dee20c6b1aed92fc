using System.Threading.Channels;
using Felix.Agent.Dataplane;
using Felix.Agent.Datastore;
using Felix.Agent.Datastore.Etcd;
using Felix.Agent.Hosting.Configuration;
using Felix.Agent.Hosting.Health;
using Felix.Agent.Hosting.Logging;
using Felix.Agent.Hosting.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
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

    /// <summary>
    /// The apply loop reports at least every second when idle; silent this long, it is stuck (an
    /// apply of a large table on a contended lock can legitimately take a minute).
    /// </summary>
    private static readonly TimeSpan DataplaneLivenessTimeout = TimeSpan.FromSeconds(150);

    public static IHost Build(AgentStartup startup, LogLineFormatter formatter)
    {
        var config = startup.Config;
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = "felix",
            DisableDefaults = true,
        });
        var logLevel = new LogLevelSwitch(config.LogSeverityScreen);
        builder.Logging.AddFelixLogging(logLevel, formatter);
        builder.Services.AddSingleton(logLevel);
        // Not AddSystemd(): its lifetime says READY=1 as soon as the host has started, and the
        // agent is ready only once its dataplane is programmed; the driver says it then.
        builder.Services.AddSingleton<ISystemdNotifier>(new SystemdNotifier());
        builder.Services.Configure<ConsoleLifetimeOptions>(options => options.SuppressStatusMessages = true);
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
        // After the endpoints: hosted services start in order, so a port already in use fails the
        // start before any background work has begun.
        var inputs = Channel.CreateUnbounded<DriverInput>(new UnboundedChannelOptions { SingleReader = true });
        AddDatastore(builder.Services, startup, health, inputs.Writer);
        AddDataplane(builder.Services, config, health, inputs);
        return builder.Build();
    }

    private static void AddDataplane(IServiceCollection services, FelixConfig config, HealthAggregator health, Channel<DriverInput> inputs)
    {
        var options = new DriverOptions
        {
            Watchdog = SystemdWatchdog.Interval(Environment.GetEnvironmentVariable, Environment.ProcessId),
            IdlePoll = RefreshSchedule.IdlePoll(config.IptablesRefreshInterval, config.IpsetsRefreshInterval, config.RouteRefreshInterval),
        };
        services.AddHostedService(services => new DataplaneDriver(
            cancellationToken => DataplaneFactory.CreateAsync(config, services.GetRequiredService<IMetricFactory>(),
                services.GetRequiredService<ILoggerFactory>(), services.GetRequiredService<TimeProvider>(), cancellationToken),
            inputs,
            options,
            health.Register("dataplane", reportsReadiness: true, DataplaneLivenessTimeout),
            services.GetRequiredService<ISystemdNotifier>(),
            new DataplaneMetrics(services.GetRequiredService<IMetricFactory>()),
            config.EndpointReportingEnabled ? services.GetRequiredService<EndpointStatusReporter>() : null,
            services.GetRequiredService<IHostApplicationLifetime>(),
            services.GetRequiredService<ILogger<DataplaneDriver>>(),
            services.GetRequiredService<TimeProvider>()));
    }

    private static void AddDatastore(IServiceCollection services, AgentStartup startup, HealthAggregator health, ChannelWriter<DriverInput> dataplane)
    {
        var config = startup.Config;
        var updates = Channel.CreateUnbounded<DatastoreUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var modelOptions = new Model.ModelOptions(config.InterfacePrefix);
        services.AddSingleton(startup.Etcd);
        services.AddSingleton<IEtcdStore>(new GrpcEtcdStore(startup.Etcd));
        services.AddSingleton(startup.DatastoreConfig);
        services.AddSingleton(services => new DatastoreMetrics(services.GetRequiredService<IMetricFactory>()));
        services.AddHostedService(services => new EtcdSyncer(
            services.GetRequiredService<IEtcdStore>(),
            new SyncState(config.FelixHostname, modelOptions),
            updates.Writer,
            health.Register("datastore", reportsReadiness: true),
            services.GetRequiredService<DatastoreMetrics>(),
            services.GetRequiredService<ILogger<EtcdSyncer>>(),
            services.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IDatastoreListener>(services => new ConfigMonitor(
            config, startup.LocalLayers, startup.DatastoreConfig, startup.Warnings,
            services.GetRequiredService<LogLevelSwitch>(),
            services.GetRequiredService<IHostApplicationLifetime>(),
            services.GetRequiredService<DatastoreMetrics>(),
            services.GetRequiredService<ILogger<ConfigMonitor>>()));
        services.AddHostedService(services => new StatusReporter(
            services.GetRequiredService<IEtcdStore>(), config.FelixHostname,
            TimeSpan.FromSeconds(config.ReportingIntervalSecs), TimeSpan.FromSeconds(config.ReportingTTLSecs),
            services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ILogger<StatusReporter>>()));
        if (config.EndpointReportingEnabled)
        {
            // The dataplane resolves it to report programmed endpoints; the hosted service drains it.
            services.AddSingleton(services => new EndpointStatusReporter(
                services.GetRequiredService<IEtcdStore>(), services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILogger<EndpointStatusReporter>>()));
            services.AddHostedService(services => services.GetRequiredService<EndpointStatusReporter>());
            services.AddSingleton<IDatastoreListener>(services => new EndpointStatusCleanup(
                services.GetRequiredService<EndpointStatusReporter>(), config.FelixHostname));
        }
        services.AddSingleton<IDatastoreListener>(services => new Calculation.CalculationListener(
            new Calculation.CalculationGraph(config.FelixHostname, config.RemoteWorkloadRoutes, services.GetRequiredService<TimeProvider>()),
            updates => dataplane.TryWrite(new CalculatedBatch(updates)),
            services.GetRequiredService<IMetricFactory>(),
            services.GetRequiredService<ILogger<Calculation.CalculationListener>>()));
        services.AddHostedService(services => new DatastoreConsumer(
            updates.Reader, services.GetServices<IDatastoreListener>()));
    }
}
