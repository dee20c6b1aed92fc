using Felix.Dataplane.Exec;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// A semantic fake of the <c>ipset</c> program behind <see cref="ICommandRunner"/>: it keeps the
/// sets of one network namespace and runs <c>restore</c>, <c>save</c>, <c>list</c> and the single
/// commands with the real tool's rules, output formats, exit codes and messages, all checked
/// against ipset 7.17 on Linux 6.x (see <see cref="FakeIpsetRestore"/> for why a failed restore
/// leaves some of its lines applied and drops others). Types: <c>hash:ip</c>, <c>hash:net</c>, and as
/// sets that merely exist next to Felix's, <c>hash:ip,port</c> and <c>list:set</c> (whose members
/// count as references, as in the kernel).
/// <para>
/// Only a program named <c>ipset</c> (by name or path) runs; any other throws
/// <see cref="CommandException"/>, as the real runner does for a program it cannot start. Input the
/// real tool accepts but the fake does not model exits 2 with "FakeIpset does not model …".
/// </para>
/// <para>
/// Where the kernel is random the fake is fixed, so code must not depend on either: the hash seed
/// (<c>initval</c>) is derived from the set's name, hash members print in address order (the kernel
/// prints hash order; <c>-sorted</c> is accepted and changes nothing), a set keeps its hashsize
/// (the kernel grows it as buckets fill) and "Size in memory" assumes one member per bucket.
/// Host names are not resolved.
/// </para>
/// </summary>
public sealed partial class FakeIpset : ICommandRunner
{
    private readonly Lock _gate = new();
    private readonly FakeIpsetKernel _kernel = new();
    private readonly List<FakeIpsetCall> _calls = [];
    private int _failures;
    private string? _failureStandardError;
    private string? _failureCommand;

    /// <summary>
    /// Runs just before a restore is applied, outside the fake's lock: a test changes the sets here as
    /// another process would between the code's read-back and its write. May throw (e.g.
    /// <see cref="CommandException"/> to play a timeout); the exception leaves RunAsync.
    /// </summary>
    public Action<Command>? BeforeRestore { get; set; }

    /// <summary>Every command run, in order, with its stdin and result.</summary>
    public IReadOnlyList<FakeIpsetCall> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>The stdin of every restore run, in order.</summary>
    public IReadOnlyList<string> RestoreInputs =>
        [.. Calls.Where(call => call.Subcommand == "restore").Select(call => call.Command.StandardInput?.ToString() ?? string.Empty)];

    /// <summary>Lines of all restore input so far that do something: see <see cref="CountLines"/>.</summary>
    public int LinesExecuted => RestoreInputs.Sum(CountLines);

    /// <summary>Lines of one restore input other than blanks, <c>#</c> comments, <c>COMMIT</c> and <c>quit</c>.</summary>
    public static int CountLines(string? input) =>
        input is null ? 0 : input.Split('\n').Select(FakeIpsetCommandLine.Split).Count(words =>
            words.Length > 0 && !words[0].StartsWith('#') && words[0] is not ("COMMIT" or "quit"));

    /// <summary>
    /// The next <paramref name="count"/> runs (whose subcommand is <paramref name="command"/>, e.g.
    /// "restore", or any) exit 1 with <paramref name="stderr"/> and change nothing;
    /// <see cref="BeforeRestore"/> does not run for them.
    /// </summary>
    public void FailNext(int count, string? stderr = null, string? command = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_gate)
        {
            _failures = count;
            _failureStandardError = stderr;
            _failureCommand = command;
        }
    }

    public Task<CommandResult> RunAsync(Command command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        cancellationToken.ThrowIfCancellationRequested();
        if (Path.GetFileName(command.FileName) != "ipset")
        {
            Record(new FakeIpsetCall(command, null));
            throw new CommandException($"cannot run {command.FileName}: No such file or directory");
        }
        var subcommand = FakeIpsetCall.SubcommandOf(command);
        if (TryTakeInjectedFailure(subcommand, out var injected))
        {
            var failed = new CommandResult(1, string.Empty, injected ?? $"{IpsetFailure.Version}: injected failure\n", TimeSpan.Zero);
            Record(new FakeIpsetCall(command, failed));
            return Task.FromResult(failed);
        }
        if (subcommand == "restore")
        {
            BeforeRestore?.Invoke(command);
        }
        lock (_gate)
        {
            var (exitCode, stdout, stderr) = FakeIpsetCommands.Run(_kernel, command.Arguments, command.StandardInput?.ToString());
            var result = new CommandResult(exitCode, stdout, stderr, TimeSpan.Zero);
            _calls.Add(new FakeIpsetCall(command, result));
            return Task.FromResult(StreamedOutput.Deliver(command, result));
        }
    }

    private bool TryTakeInjectedFailure(string? subcommand, out string? stderr)
    {
        lock (_gate)
        {
            stderr = _failureStandardError;
            if (_failures == 0 || (_failureCommand is { } only && only != subcommand))
            {
                return false;
            }
            _failures--;
            return true;
        }
    }

    private void Record(FakeIpsetCall call)
    {
        lock (_gate)
        {
            _calls.Add(call);
        }
    }
}

/// <summary>One command the fake was asked to run, and what it returned (null: it threw).</summary>
public sealed record FakeIpsetCall(Command Command, CommandResult? Result)
{
    /// <summary>The ipset command word (<c>restore</c>, <c>list</c>, …): the first argument that is not an option.</summary>
    public string? Subcommand => SubcommandOf(Command);

    internal static string? SubcommandOf(Command command)
    {
        for (var i = 0; i < command.Arguments.Count; i++)
        {
            var argument = command.Arguments[i];
            if (argument is "-o" or "-output")
            {
                i++;
            }
            else if (!argument.StartsWith('-'))
            {
                return argument;
            }
        }
        return null;
    }
}

/// <summary>A set as the kernel describes it; <see cref="Family"/> is null for list:set.</summary>
public sealed record FakeIpsetSetInfo(string Name, string Type, IpVersion? Family, long HashSize, long MaxElem, int References, IReadOnlyList<string> Members);
