namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// Thrown when a command a fixture depends on fails, so the test failure names the command, its
/// exit code (or the timeout) and its stderr instead of a bare "exit code 2" further down.
/// </summary>
public sealed class CommandFailedException : Exception
{
    private const int MaxOutputChars = 4000;

    public CommandFailedException(CommandResult result)
        : base(Describe(result))
    {
        Result = result;
    }

    public CommandFailedException()
    {
    }

    public CommandFailedException(string message)
        : base(message)
    {
    }

    public CommandFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The failed command, when this exception was built from one.</summary>
    public CommandResult? Result { get; }

    private static string Describe(CommandResult result)
    {
        var outcome = result.TimedOut
            ? "timed out and was killed"
            : $"exited with code {result.ExitCode}";
        return $"Command `{result.CommandLine}` {outcome}.{Environment.NewLine}"
            + $"stderr: {Truncate(result.StandardError)}{Environment.NewLine}"
            + $"stdout: {Truncate(result.StandardOutput)}";
    }

    private static string Truncate(string text)
    {
        var trimmed = text.Trim();
        return trimmed.Length <= MaxOutputChars ? trimmed : "…" + trimmed[^MaxOutputChars..];
    }
}
