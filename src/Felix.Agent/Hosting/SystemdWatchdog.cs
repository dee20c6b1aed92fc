using System.Globalization;

namespace Felix.Agent.Hosting;

/// <summary>systemd's watchdog settings as the service manager passes them (<c>sd_watchdog_enabled(3)</c>).</summary>
public static class SystemdWatchdog
{
    /// <summary>
    /// WatchdogSec from <c>WATCHDOG_USEC</c>, or null when there is none, it is malformed, or
    /// <c>WATCHDOG_PID</c> names another process (the variables were inherited, not meant for us).
    /// </summary>
    public static TimeSpan? Interval(Func<string, string?> environment, int processId)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (!long.TryParse(environment("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out var micros) || micros <= 0)
        {
            return null;
        }
        if (environment("WATCHDOG_PID") is { } pid
            && (!int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out var target) || target != processId))
        {
            return null;
        }
        return TimeSpan.FromMicroseconds(micros);
    }
}
