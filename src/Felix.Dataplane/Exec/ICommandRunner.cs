namespace Felix.Dataplane.Exec;

/// <summary>A program to run: no shell is involved, so arguments are never re-parsed.</summary>
/// <param name="FileName">The program, by path or as found on PATH.</param>
/// <param name="Arguments">Its arguments, each passed as it is.</param>
/// <param name="StandardInput">Written to the program's stdin, which is then closed; <c>null</c>: empty stdin.</param>
/// <param name="Timeout">How long the program may run before it is killed.</param>
/// <param name="OutputLines">
/// When set, stdout is given to it a line at a time as it is read, and the result's
/// <see cref="CommandResult.StandardOutput"/> is empty; for outputs too large to hold whole.
/// </param>
public sealed record Command(string FileName, IReadOnlyList<string> Arguments, CommandInput? StandardInput, TimeSpan Timeout,
    IOutputLines? OutputLines = null)
{
    public override string ToString() => Arguments.Count == 0 ? FileName : $"{FileName} {string.Join(' ', Arguments)}";
}

/// <summary>How a program ended. A non-zero exit is a result, not an exception: callers read stderr.</summary>
public sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError, TimeSpan Duration)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>
/// The seam through which the dataplane starts processes (<c>iptables-restore</c>, <c>ipset</c>,
/// …). Unit tests substitute it; the real one is <see cref="ProcessCommandRunner"/>.
/// </summary>
public interface ICommandRunner
{
    /// <exception cref="CommandException">The program could not be started or ran past its timeout.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the program has been killed.</exception>
    Task<CommandResult> RunAsync(Command command, CancellationToken cancellationToken);
}

/// <summary>A program that could not be run to completion: not found, not startable, or too slow.</summary>
public sealed class CommandException : Exception
{
    public CommandException(string message)
        : base(message)
    {
    }

    public CommandException()
    {
    }

    public CommandException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
