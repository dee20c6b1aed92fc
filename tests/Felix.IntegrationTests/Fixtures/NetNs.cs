namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// A named network namespace created by <see cref="NetworkNamespaces"/>. Every command a test runs
/// "on a host" goes through here (<c>ip netns exec</c> / <c>ip -n</c>), which is what keeps the
/// root namespace of the machine running the tests untouched.
/// </summary>
public sealed class NetNs
{
    private readonly string _ipPath;

    internal NetNs(string name, string ipPath)
    {
        Name = name;
        _ipPath = ipPath;
    }

    /// <summary>The namespace name as <c>ip netns list</c> shows it.</summary>
    public string Name { get; }

    /// <summary>Runs <c>ip netns exec Name command…</c>; never throws for a non-zero exit.</summary>
    public Task<CommandResult> ExecAsync(params string[] command) =>
        CommandRunner.RunAsync(_ipPath, ExecArguments(command));

    /// <summary>Like <see cref="ExecAsync"/>, bounded by <paramref name="timeout"/>.</summary>
    public Task<CommandResult> ExecAsync(TimeSpan timeout, params string[] command) =>
        CommandRunner.RunAsync(_ipPath, ExecArguments(command), timeout);

    /// <summary>Runs <c>ip netns exec Name command…</c> with <paramref name="standardInput"/> on its stdin; never throws for a non-zero exit.</summary>
    public Task<CommandResult> ExecWithInputAsync(string standardInput, params string[] command) =>
        CommandRunner.RunWithInputAsync(_ipPath, ExecArguments(command), standardInput);

    /// <summary>Runs <c>ip netns exec Name command…</c> and throws unless it exits 0.</summary>
    public Task<CommandResult> ExecCheckedAsync(params string[] command) =>
        CommandRunner.RunCheckedAsync(_ipPath, ExecArguments(command));

    /// <summary>Runs <c>ip -n Name args…</c> (no fork into the namespace needed) and throws unless it exits 0.</summary>
    public Task<CommandResult> IpCheckedAsync(params string[] args) =>
        CommandRunner.RunCheckedAsync(_ipPath, new[] { "-n", Name }.Concat(args));

    public override string ToString() => Name;

    private string[] ExecArguments(string[] command)
    {
        if (command.Length == 0)
        {
            throw new ArgumentException("A command is required.", nameof(command));
        }

        return ["netns", "exec", Name, .. command];
    }
}
