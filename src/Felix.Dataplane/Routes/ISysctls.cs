namespace Felix.Dataplane.Routes;

/// <summary>
/// The seam for kernel parameters under <c>/proc/sys</c>. The real one is <see cref="ProcSysctls"/>;
/// unit tests substitute an in-memory tree. Paths are <see cref="SysctlPath"/>s, which can only name
/// the few parameters the agent owns, so no caller can make it write anywhere else.
/// </summary>
public interface ISysctls
{
    /// <summary>The parameter's value, trimmed; <see cref="SysctlOutcome.Missing"/> when it does not exist (its interface is gone).</summary>
    SysctlResult Read(SysctlPath path);

    /// <summary>Sets the parameter; <see cref="SysctlOutcome.Missing"/> when it does not exist (its interface is gone).</summary>
    SysctlResult Write(SysctlPath path, int value);
}

public enum SysctlOutcome
{
    Ok,

    /// <summary>No such parameter: the interface it belongs to does not exist (any more).</summary>
    Missing,

    /// <summary>The kernel refused (a read-only <c>/proc/sys</c>, a value out of range): see <see cref="SysctlResult.Error"/>.</summary>
    Failed,
}

/// <summary>What a read or write came to; <see cref="Value"/> is the value read, <see cref="Error"/> why it failed.</summary>
public readonly record struct SysctlResult(SysctlOutcome Outcome, string? Value = null, string? Error = null)
{
    public static SysctlResult Missing { get; } = new(SysctlOutcome.Missing);

    public static SysctlResult Done { get; } = new(SysctlOutcome.Ok);

    public static SysctlResult Read(string value) => new(SysctlOutcome.Ok, value);

    public static SysctlResult Failed(string error) => new(SysctlOutcome.Failed, Error: error);
}
