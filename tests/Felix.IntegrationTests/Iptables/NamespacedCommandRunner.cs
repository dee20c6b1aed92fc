using System.Collections.Concurrent;
using Felix.Dataplane.Exec;
using Felix.IntegrationTests.Fixtures;
using CommandResult = Felix.Dataplane.Exec.CommandResult;

namespace Felix.IntegrationTests.Iptables;

/// <summary>
/// The agent's command seam pointed into a test namespace: each command runs as
/// <c>ip netns exec NS [env XTABLES_LOCKFILE=…] TOOL ARGS…</c> through the agent's own
/// <see cref="ProcessCommandRunner"/>, with the same stdin and timeout, so the table under test
/// drives the real tools without ever reaching the root namespace's tables. A private lock file
/// lets a test contend for the legacy xtables lock without taking the host's
/// <c>/run/xtables.lock</c>. Each command is recorded as the table gave it, a second witness beside
/// the metrics of what the table actually ran, and the batch to show when a test fails.
/// </summary>
public sealed class NamespacedCommandRunner : ICommandRunner
{
    private readonly ProcessCommandRunner _inner = new(TimeProvider.System);
    private readonly ConcurrentQueue<Command> _commands = new();
    private readonly string _ip = Require.Executable("ip", "iproute2");
    private readonly string _env = Require.Executable("env", "coreutils");
    private readonly string _netns;
    private readonly string? _lockFile;

    public NamespacedCommandRunner(NetNs netns, string? lockFile = null)
    {
        ArgumentNullException.ThrowIfNull(netns);
        _netns = netns.Name;
        _lockFile = lockFile;
    }

    /// <summary>The commands run so far (<c>iptables-nft-save -t filter</c>, …), oldest first.</summary>
    public IReadOnlyList<Command> Commands => [.. _commands];

    public Task<CommandResult> RunAsync(Command command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        _commands.Enqueue(command);
        // sbin is often missing from PATH under sudo; a full path makes that the tool's own failure, not ip's.
        var tool = Path.IsPathRooted(command.FileName) ? command.FileName : Require.Executable(command.FileName, "iptables");
        List<string> arguments = ["netns", "exec", _netns];
        if (_lockFile is not null)
        {
            arguments.AddRange([_env, $"XTABLES_LOCKFILE={_lockFile}"]);
        }
        arguments.Add(tool);
        arguments.AddRange(command.Arguments);
        return _inner.RunAsync(command with { FileName = _ip, Arguments = arguments }, cancellationToken);
    }
}
