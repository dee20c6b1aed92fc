using Felix.Agent.Hosting.Configuration;
using Felix.Agent.Hosting.Logging;
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
        var resolution = ConfigLoader.Load(run.ConfigFile, ConfigLoader.ProcessEnvironment());
        if (resolution.Config is not { } config)
        {
            foreach (var error in resolution.Errors)
            {
                Console.Error.WriteLine(formatter.Format(DateTimeOffset.Now, LogLevel.Critical, "Config", error, null));
            }
            return 1;
        }

        using var host = AgentHost.Build(config, formatter);
        var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Felix.Agent.Startup");
        var endpoints = string.Join(",", config.EtcdEndpoints.Select(u => u.OriginalString));
        LogStarting(log, CommandLine.Version, Environment.ProcessId, config.FelixHostname, endpoints,
            run.ConfigFile ?? ConfigLoader.DefaultConfigFile);
        foreach (var (parameter, origin) in config.ExplicitlySet())
        {
            LogParameter(log, parameter.Name, origin);
        }
        foreach (var warning in resolution.Warnings)
        {
            LogConfigWarning(log, warning);
        }

        try
        {
            await host.RunAsync();
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            LogFailed(log, e.Message);
            return 1;
        }
        LogStopped(log);
        return Environment.ExitCode;
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Felix stopped; the dataplane is left as it is")]
    private static partial void LogStopped(ILogger logger);
}
