namespace Felix.Agent.Hosting.Configuration;

/// <summary>
/// Configuration the agent cannot start with. The message is written as the one line an operator
/// sees, so it names the parameter, where the value came from, and what is allowed.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string message)
        : base(message)
    {
    }

    public ConfigException()
    {
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
