using Felix.Agent.Hosting.Logging;
using Microsoft.Extensions.Logging;

namespace Felix.Agent.Tests.Hosting;

public class LogLineFormatterTests
{
    private static readonly DateTimeOffset Time = new(2026, 11, 25, 16, 3, 1, 123, TimeSpan.Zero);

    [Theory]
    [InlineData(LogLevel.Critical, "<2>")]
    [InlineData(LogLevel.Error, "<3>")]
    [InlineData(LogLevel.Warning, "<4>")]
    [InlineData(LogLevel.Information, "<6>")]
    [InlineData(LogLevel.Debug, "<7>")]
    public void Journal_lines_start_with_the_syslog_priority(LogLevel level, string prefix)
    {
        var line = new LogLineFormatter(journal: true, processId: 42).Format(Time, level, "Felix.Agent.X", "hello", null);
        Assert.Equal($"{prefix}X: hello", line);
    }

    [Fact]
    public void Terminal_lines_carry_time_level_and_pid()
    {
        var line = new LogLineFormatter(journal: false, processId: 42)
            .Format(Time, LogLevel.Warning, "Felix.Agent.Hosting.Health.HealthServer", "slow", null);
        Assert.Equal("2026-11-25 16:03:01.123 [WARNING][42] HealthServer: slow", line);
    }

    [Fact]
    public void Multi_line_messages_and_exceptions_become_one_line()
    {
        Exception exception;
        try
        {
            throw new InvalidOperationException("first\nsecond");
        }
        catch (InvalidOperationException e)
        {
            exception = e;
        }

        var line = new LogLineFormatter(journal: true, processId: 1)
            .Format(Time, LogLevel.Error, "C", "a\r\nb\rc\nd", exception);

        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain('\r', line);
        Assert.StartsWith(@"<3>C: a\nb\nc\nd: System.InvalidOperationException: first\nsecond\n   at ", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Control_characters_from_untrusted_values_are_escaped()
    {
        var line = new LogLineFormatter(journal: true, processId: 1)
            .Format(Time, LogLevel.Warning, "C", "key /calico/\u001b[31mred\u0000", null);
        Assert.Equal(@"<4>C: key /calico/\x1b[31mred\x00", line);
    }
}
