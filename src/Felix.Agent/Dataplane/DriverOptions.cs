namespace Felix.Agent.Dataplane;

/// <summary>How the driver paces its applies and when it gives up.</summary>
public sealed record DriverOptions
{
    /// <summary>Applies start at most this often (about 10 a second): a burst of changes is coalesced into the next one.</summary>
    public TimeSpan MinApplyInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>With nothing to do, the loop still wakes this often to notice due read-backs and retries.</summary>
    public TimeSpan IdlePoll { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>After a failed apply the next attempt waits this long, doubled per further failure up to <see cref="MaxRetryDelay"/> (new updates do not wait).</summary>
    public TimeSpan InitialRetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A part failing for this long without one success ends the process, so systemd restarts it from scratch.</summary>
    public TimeSpan FailureTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>systemd's WatchdogSec (from <c>WATCHDOG_USEC</c>): pinged at half this interval from the loop; null for none.</summary>
    public TimeSpan? Watchdog { get; init; }
}
