namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// What one finished (or timed-out and killed) command produced. Kept as plain data so a test
/// can assert on it and a failure message can show the whole command line and its output.
/// </summary>
public sealed record CommandResult(
    string FileName,
    IReadOnlyList<string> Arguments,
    int ExitCode,
    bool TimedOut,
    string StandardOutput,
    string StandardError)
{
    /// <summary>True when the command ran to completion and exited with code 0.</summary>
    public bool Succeeded => !TimedOut && ExitCode == 0;

    /// <summary>The command line, quoted for humans (it was never run through a shell).</summary>
    public string CommandLine =>
        string.Join(' ', new[] { FileName }.Concat(Arguments).Select(Quote));

    /// <summary>Returns this result, or throws <see cref="CommandFailedException"/> when it failed.</summary>
    public CommandResult EnsureSuccess() => Succeeded ? this : throw new CommandFailedException(this);

    private static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=+,@%".Contains(c))
            ? argument
            : "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
