using System.Net;
using System.Net.Sockets;
using Felix.Dataplane.Exec;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// A semantic fake of the <c>conntrack</c> tool behind <see cref="ICommandRunner"/>, for
/// <c>conntrack --family ipv4|ipv6 --delete --orig-src|--orig-dst|--reply-src|--reply-dst ADDRESS</c>
/// over a table of flows, with conntrack-tools 1.4.7's exit codes and messages: exit 0 and
/// "N flow entries have been deleted." when some matched, exit 1 and "0 flow entries have been
/// deleted." when none did. Any other program throws <see cref="CommandException"/>, as the real
/// runner does for a program it cannot start; other conntrack arguments exit 2.
/// </summary>
public sealed class FakeConntrack : ICommandRunner
{
    private const string Banner = "conntrack v1.4.7 (conntrack-tools): ";

    private readonly Lock _gate = new();
    private readonly List<ConntrackFlow> _flows = [];
    private readonly List<Command> _calls = [];
    private int _failures;

    /// <summary>Whether the program is installed; false: every run throws <see cref="CommandException"/>.</summary>
    public bool Installed { get; set; } = true;

    /// <summary>Runs before each command is looked at, with it (a test's timeline).</summary>
    public Action<Command>? OnRun { get; set; }

    public IReadOnlyList<Command> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    public IReadOnlyList<ConntrackFlow> Flows
    {
        get
        {
            lock (_gate)
            {
                return [.. _flows];
            }
        }
    }

    /// <summary>A flow from <paramref name="source"/> to <paramref name="destination"/>; the reply direction is NATed when given.</summary>
    public void AddFlow(IPAddress source, IPAddress destination, IPAddress? replySource = null, IPAddress? replyDestination = null, string tag = "")
    {
        lock (_gate)
        {
            _flows.Add(new ConntrackFlow(source, destination, replySource ?? destination, replyDestination ?? source, tag));
        }
    }

    /// <summary>The next <paramref name="count"/> runs exit 1 with an error other than "0 flow entries", changing nothing.</summary>
    public void FailNext(int count)
    {
        lock (_gate)
        {
            _failures = count;
        }
    }

    public Task<CommandResult> RunAsync(Command command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        OnRun?.Invoke(command);
        // As the real runner: a cancelled run is killed and reported as cancelled.
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            _calls.Add(command);
            if (Path.GetFileName(command.FileName) != "conntrack" || !Installed)
            {
                throw new CommandException($"cannot run {command.FileName}: No such file or directory");
            }
            if (_failures > 0)
            {
                _failures--;
                return Result(1, $"{Banner}Operation failed: Device or resource busy");
            }
            var arguments = command.Arguments;
            if (arguments.Count != 5 || arguments[0] != "--family" || arguments[2] != "--delete"
                || arguments[1] is not ("ipv4" or "ipv6") || !IPAddress.TryParse(arguments[4], out var address))
            {
                return Result(2, $"{Banner}FakeConntrack does not model: {command}");
            }
            var family = arguments[1] == "ipv4" ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
            Func<ConntrackFlow, IPAddress>? field = arguments[3] switch
            {
                "--orig-src" => f => f.OrigSource,
                "--orig-dst" => f => f.OrigDestination,
                "--reply-src" => f => f.ReplySource,
                "--reply-dst" => f => f.ReplyDestination,
                _ => null,
            };
            if (field is null)
            {
                return Result(2, $"{Banner}FakeConntrack does not model: {command}");
            }
            var deleted = _flows.RemoveAll(f => f.OrigSource.AddressFamily == family && field(f).Equals(address));
            return Result(deleted > 0 ? 0 : 1, $"{Banner}{deleted} flow entries have been deleted.");
        }
    }

    private static Task<CommandResult> Result(int exitCode, string stderr) =>
        Task.FromResult(new CommandResult(exitCode, string.Empty, stderr + "\n", TimeSpan.Zero));
}

/// <summary>A conntrack entry: its original and reply tuples' addresses, and a test's label.</summary>
public sealed record ConntrackFlow(IPAddress OrigSource, IPAddress OrigDestination, IPAddress ReplySource, IPAddress ReplyDestination, string Tag);
