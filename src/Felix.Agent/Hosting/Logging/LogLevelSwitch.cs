using Felix.Agent.Hosting.Configuration;
using Microsoft.Extensions.Logging;

namespace Felix.Agent.Hosting.Logging;

/// <summary>The least severe level written, changeable while the agent runs (LogSeverityScreen).</summary>
public sealed class LogLevelSwitch
{
    private volatile int _minimum;

    public LogLevelSwitch(LogSeverity severity)
    {
        Set(severity);
    }

    public LogLevel Minimum => (LogLevel)_minimum;

    public void Set(LogSeverity severity) => _minimum = (int)FelixLogging.ToLogLevel(severity);
}
