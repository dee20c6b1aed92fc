using Felix.Agent.Datastore;
using Felix.Agent.Datastore.Etcd;
using Felix.Agent.Hosting.Configuration;
using Felix.Agent.Hosting.Logging;
using Felix.Agent.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Felix.Agent.Hosting;

/// <summary>
/// Entry point. Exit codes: 0 after a clean stop (SIGTERM), 1 for configuration the agent cannot
/// run with or a failure to start, 2 for a malformed command line. Errors are single lines, never
/// stack traces: under systemd they are what <c>systemctl status felix</c> shows.
/// </summary>
public static partial class Program
{
    private static readonly TimeSpan DatastoreConfigTimeout = TimeSpan.FromSeconds(5);

    public static async Task<int> Main(string[] args)
    {
        switch (CommandLine.Parse(args))
        {
            case CommandLine.ShowHelp:
                Console.Out.Write(CommandLine.HelpText());
                return 0;
            case CommandLine.ShowVersion:
                Console.Out.WriteLine($"felix {CommandLine.Version}");
                return 0;
            case CommandLine.PrintConfig:
                Console.Out.Write(ConfigTemplate.Render());
                return 0;
            case CommandLine.Invalid invalid:
                Console.Error.WriteLine($"felix: {invalid.Message}; see felix --help");
                return 2;
            case CommandLine.Run run:
                return await RunAsync(run);
            default:
                throw new InvalidOperationException("unhandled command line");
        }
    }

    private static async Task<int> RunAsync(CommandLine.Run run)
    {
        var formatter = FelixLogging.CreateFormatter();
        var startup = await PrepareAsync(run, formatter);
        if (startup is null)
        {
            return 1;
        }
        using var etcd = startup.Etcd;
        var config = startup.Config;

        using var host = AgentHost.Build(startup, formatter);
        var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Felix.Agent.Startup");
        var endpoints = string.Join(",", config.EtcdEndpoints.Select(u => u.OriginalString));
        LogStarting(log, CommandLine.Version, Environment.ProcessId, config.FelixHostname, endpoints,
            run.ConfigFile ?? ConfigLoader.DefaultConfigFile);
        foreach (var (parameter, origin) in config.ExplicitlySet())
        {
            LogParameter(log, parameter.Name, origin);
        }
        foreach (var warning in startup.Warnings)
        {
            LogConfigWarning(log, warning);
        }

        try
        {
            // Not RunAsync: it disposes the host, and the services are inspected below.
            await host.StartAsync();
            await host.WaitForShutdownAsync();
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            LogFailed(log, e.Message);
            return 1;
        }
        if (Environment.ExitCode == 0 && FailedService(host.Services.GetServices<IHostedService>()) is { } failure)
        {
            LogFailed(log, failure);
            Environment.ExitCode = 1;
        }
        LogStopped(log, Environment.ExitCode);
        return Environment.ExitCode;
    }

    /// <summary>
    /// Resolves the configuration — local layers first, then etcd's config keys read once, bounded —
    /// and opens the etcd connection. Null, after printing why, when the agent cannot start.
    /// </summary>
    private static async Task<AgentStartup?> PrepareAsync(CommandLine.Run run, LogLineFormatter formatter)
    {
        var (local, fileError) = ConfigLoader.LoadLocalLayers(run.ConfigFile, ConfigLoader.ProcessEnvironment());
        var resolution = fileError is null ? ConfigResolver.Resolve(local) : new ConfigResolution(null, [fileError], []);
        if (resolution.Config is not { } config)
        {
            PrintErrors(formatter, resolution.Errors);
            return null;
        }
        EtcdConnection etcd;
        try
        {
            etcd = new EtcdConnection(new EtcdConnectionOptions(config.EtcdEndpoints, config.EtcdCaFile, config.EtcdCertFile, config.EtcdKeyFile));
        }
        catch (InvalidOperationException e)
        {
            PrintErrors(formatter, [e.Message]);
            return null;
        }
        var warnings = resolution.Warnings.ToList();
        var (datastore, etcdError) = await DatastoreConfigLoader.TryLoadAsync(new GrpcEtcdStore(etcd), config.FelixHostname,
            new ModelOptions(config.InterfacePrefix), DatastoreConfigTimeout, CancellationToken.None);
        if (datastore is null)
        {
            warnings.Add($"cannot read config from etcd at start-up ({etcdError}): starting on local configuration; a value set in etcd will restart the agent once it is read");
            datastore = new DatastoreConfig();
        }
        else
        {
            var withDatastore = ConfigResolver.Resolve([.. local, .. datastore.Layers()]);
            config = withDatastore.Config ?? config;
            warnings = [.. withDatastore.Warnings];
        }
        return new AgentStartup(config, local, datastore, etcd, warnings);
    }

    /// <summary>
    /// Why the host stopped, when a background service faulted: StopHost stops the host without
    /// making RunAsync throw, yet the process must exit non-zero so systemd sees a failure.
    /// </summary>
    internal static string? FailedService(IEnumerable<IHostedService> services) =>
        services.OfType<BackgroundService>().FirstOrDefault(s => s.ExecuteTask?.IsFaulted == true) is { } failed
            ? $"{failed.GetType().Name} failed: {failed.ExecuteTask!.Exception!.InnerException?.Message}"
            : null;

    private static void PrintErrors(LogLineFormatter formatter, IEnumerable<string> errors)
    {
        foreach (var error in errors)
        {
            Console.Error.WriteLine(formatter.Format(DateTimeOffset.Now, LogLevel.Critical, "Config", error, null));
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Felix {Version} starting (pid {Pid}) as host {Hostname}; etcd {Endpoints}; config file {ConfigFile}")]
    private static partial void LogStarting(ILogger logger, string version, int pid, string hostname, string endpoints, string configFile);

    [LoggerMessage(Level = LogLevel.Information, Message = "Config parameter {Name} set by {Origin}")]
    private static partial void LogParameter(ILogger logger, string name, string origin);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogConfigWarning(ILogger logger, string warning);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Felix failed to start: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Felix stopped (exit code {ExitCode}); the dataplane is left as it is")]
    private static partial void LogStopped(ILogger logger, int exitCode);
}
