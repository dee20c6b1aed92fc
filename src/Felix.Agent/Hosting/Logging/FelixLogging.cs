using Felix.Agent.Hosting.Configuration;
using Microsoft.Extensions.Logging;
using NLog.Config;
using NLog.Extensions.Logging;
using NLog.Layouts;
using NLog.Targets;

namespace Felix.Agent.Hosting.Logging;

/// <summary>
/// Routes Microsoft.Extensions.Logging through NLog to stdout, one line per event, formatted by
/// <see cref="LogLineFormatter"/>. Configured in code (no nlog.config): the agent has one output and
/// it must work the same under Native AOT, a terminal and journald.
/// </summary>
public static class FelixLogging
{
    /// <summary>systemd sets <c>JOURNAL_STREAM</c> when stdout is connected to the journal.</summary>
    public static bool StdoutIsJournal() =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM"));

    public static LogLineFormatter CreateFormatter() => new(StdoutIsJournal(), Environment.ProcessId);

    public static LogLevel ToLogLevel(LogSeverity severity) => severity switch
    {
        LogSeverity.Debug => LogLevel.Debug,
        LogSeverity.Info => LogLevel.Information,
        LogSeverity.Warning => LogLevel.Warning,
        LogSeverity.Error => LogLevel.Error,
        LogSeverity.Critical => LogLevel.Critical,
        _ => throw new ArgumentOutOfRangeException(nameof(severity), severity, null),
    };

    public static ILoggingBuilder AddFelixLogging(this ILoggingBuilder logging, LogLevelSwitch level, LogLineFormatter formatter)
    {
        var target = new ConsoleTarget("stdout")
        {
            Layout = Layout.FromMethod(e => formatter.Format(
                e.TimeStamp, FromNLog(e.Level), e.LoggerName ?? "", e.FormattedMessage, e.Exception)),
            AutoFlush = true,
        };
        var config = new LoggingConfiguration();
        config.AddRule(NLog.LogLevel.Trace, NLog.LogLevel.Fatal, target);

        logging.ClearProviders();
        logging.SetMinimumLevel(LogLevel.Trace);
        // One rule, read at every call, so LogSeverityScreen can change without a restart. The
        // framework's own chatter ("Application started. Press Ctrl+C…") is for interactive apps:
        // an operator wants it only when something is wrong, or when debugging.
        logging.AddFilter((category, eventLevel) =>
        {
            var minimum = level.Minimum;
            return eventLevel >= minimum
                && (minimum == LogLevel.Debug || eventLevel >= LogLevel.Warning
                    || !category!.StartsWith("Microsoft", StringComparison.Ordinal));
        });
        logging.AddNLog(config, new NLogProviderOptions { RemoveLoggerFactoryFilter = false });
        return logging;
    }

    private static LogLevel FromNLog(NLog.LogLevel level) => level.Ordinal switch
    {
        0 => LogLevel.Trace,
        1 => LogLevel.Debug,
        2 => LogLevel.Information,
        3 => LogLevel.Warning,
        4 => LogLevel.Error,
        _ => LogLevel.Critical,
    };
}
