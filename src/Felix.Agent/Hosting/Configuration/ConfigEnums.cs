namespace Felix.Agent.Hosting.Configuration;

public enum IptablesBackend
{
    Auto,
    Legacy,
    Nft,
}

/// <summary>What happens to traffic from a workload to its own host, after the workload's checks.</summary>
public enum EndpointToHostAction
{
    Drop,
    Accept,
    Return,
}

/// <summary>Operator-facing severities (<c>LogSeverityScreen</c>); the order is least to most severe.</summary>
public enum LogSeverity
{
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}
