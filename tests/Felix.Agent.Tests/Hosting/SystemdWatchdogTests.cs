using Felix.Agent.Hosting;

namespace Felix.Agent.Tests.Hosting;

/// <summary>systemd's watchdog variables as <c>sd_watchdog_enabled(3)</c> reads them.</summary>
public class SystemdWatchdogTests
{
    private const int Me = 4242;

    [Theory]
    [InlineData("30000000", null, 30_000)]
    [InlineData("30000000", "4242", 30_000)]
    [InlineData("1500", null, 1.5)]
    public void The_interval_is_watchdog_usec_when_no_other_process_is_named(string usec, string? pid, double expectedMilliseconds)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMilliseconds), SystemdWatchdog.Interval(Environment(usec, pid), Me));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData("0", null)]
    [InlineData("-30000000", null)]
    [InlineData("+30000000", null)]
    [InlineData(" 30000000", null)]
    [InlineData("30s", null)]
    [InlineData("3e7", null)]
    [InlineData("99999999999999999999", null)]
    [InlineData("30000000", "4243")]
    [InlineData("30000000", "")]
    [InlineData("30000000", "pid")]
    [InlineData("30000000", "-4242")]
    public void There_is_no_interval_when_watchdog_usec_is_missing_malformed_or_meant_for_another_process(string? usec, string? pid)
    {
        Assert.Null(SystemdWatchdog.Interval(Environment(usec, pid), Me));
    }

    private static Func<string, string?> Environment(string? usec, string? pid) => name => name switch
    {
        "WATCHDOG_USEC" => usec,
        "WATCHDOG_PID" => pid,
        _ => throw new ArgumentException($"unexpected variable {name}", nameof(name)),
    };
}
