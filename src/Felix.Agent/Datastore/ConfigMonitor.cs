using Felix.Agent.Hosting.Configuration;
using Felix.Agent.Hosting.Logging;
using Felix.Agent.Model;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Felix.Agent.Datastore;

/// <summary>
/// Watches the datastore's config values once in sync. LogSeverityScreen is applied live; any other
/// change of the effective configuration ends the process with exit code 129 and a line naming the
/// parameter, so systemd restarts the agent with it. Comparing only from the first
/// <see cref="DatastoreInSync"/> on keeps a half-delivered snapshot from looking like a change.
/// </summary>
public sealed partial class ConfigMonitor : IDatastoreListener
{
    public const int RestartExitCode = 129;

    private readonly IReadOnlyList<ConfigLayer> _localLayers;
    private readonly DatastoreConfig _datastore;
    private readonly LogLevelSwitch _logLevel;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<ConfigMonitor> _log;
    private readonly DatastoreMetrics _metrics;
    private readonly HashSet<string> _reportedWarnings;
    private FelixConfig _running;
    private bool _inSync;
    private bool _restarting;

    /// <param name="startupWarnings">Warnings start-up already logged; etcd's among them are counted here.</param>
    public ConfigMonitor(FelixConfig running, IReadOnlyList<ConfigLayer> localLayers, DatastoreConfig datastore,
        IReadOnlyList<string> startupWarnings, LogLevelSwitch logLevel, IHostApplicationLifetime lifetime,
        DatastoreMetrics metrics, ILogger<ConfigMonitor> log)
    {
        _metrics = metrics;
        _reportedWarnings = [.. startupWarnings];
        foreach (var _ in startupWarnings.Where(IsAboutEtcd))
        {
            metrics.Rejected(KeyKinds.Config);
        }
        _running = running;
        _localLayers = localLayers;
        _datastore = datastore;
        _logLevel = logLevel;
        _lifetime = lifetime;
        _log = log;
    }

    public void OnUpdate(DatastoreUpdate update)
    {
        var changed = _datastore.Apply(update);
        if (update is DatastoreInSync)
        {
            _inSync = true;
            changed = true;
        }
        if (changed && _inSync && !_restarting)
        {
            Compare();
        }
    }

    private void Compare()
    {
        var resolution = ConfigResolver.Resolve([.. _localLayers, .. _datastore.Layers()]);
        foreach (var warning in resolution.Warnings.Where(w => IsAboutEtcd(w) && _reportedWarnings.Add(w)))
        {
            _metrics.Rejected(KeyKinds.Config);
            LogInvalid(_log, warning);
        }
        if (resolution.Config is not { } next)
        {
            return;
        }
        foreach (var parameter in ConfigParameters.All.Where(p => !p.LocalOnly))
        {
            var before = _running.ValueOf(parameter);
            var after = next.ValueOf(parameter);
            if (Equals(before, after))
            {
                continue;
            }
            var origin = next.OriginOf(parameter) ?? "default";
            if (parameter == ConfigParameters.LogSeverityScreen)
            {
                _logLevel.Set(next.LogSeverityScreen);
                LogAppliedLive(_log, parameter.Name, before, after, origin);
                continue;
            }
            _restarting = true;
            LogRestart(_log, parameter.Name, before, after, origin);
            Environment.ExitCode = RestartExitCode;
            _lifetime.StopApplication();
            return;
        }
        _running = next;
    }

    // Datastore entries name their origin as "etcd <key>" (see DatastoreConfig).
    private static bool IsAboutEtcd(string warning) => warning.Contains("(etcd /calico/", StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogInvalid(ILogger logger, string warning);

    [LoggerMessage(Level = LogLevel.Information, Message = "Config parameter {Name} changed from {Before} to {After} ({Origin}); applied")]
    private static partial void LogAppliedLive(ILogger logger, string name, object? before, object? after, string origin);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Config parameter {Name} changed from {Before} to {After} ({Origin}); exiting with code 129 to restart with it")]
    private static partial void LogRestart(ILogger logger, string name, object? before, object? after, string origin);
}
