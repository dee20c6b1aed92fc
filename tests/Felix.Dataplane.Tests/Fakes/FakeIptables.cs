using System.Text.RegularExpressions;
using Felix.Dataplane.Exec;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// A semantic fake of the iptables restore and save tools behind <see cref="ICommandRunner"/>: it
/// keeps kernel tables per family (and per backend when <see cref="FakeIptablesOptions.SeparateBackends"/>),
/// applies restore input with the tools' rules — one atomic copy per table block, chain declarations
/// that flush, jumps only to chains that exist, <c>-X</c> only of empty unreferenced chains, 1-based
/// indexes — and prints save output in their format, failing with their exit codes and messages
/// (checked against iptables 1.8.9 legacy and nft; see <see cref="RestoreDialect"/>).
/// <para>
/// Programs it knows: <c>ip[6]tables[-legacy|-nft]-restore</c> and <c>-save</c>, by file name or path.
/// Any other program throws <see cref="CommandException"/>, as the real runner does for a program it
/// cannot start.
/// </para>
/// </summary>
public sealed partial class FakeIptables : ICommandRunner
{
    private readonly Lock _gate = new();
    private readonly List<FakeIptablesCall> _calls = [];
    private int _failures;
    private string? _failureStandardError;
    private FakeIptablesTool? _failureTool;

    public FakeIptables(FakeIptablesOptions? options = null)
    {
        Options = options ?? new FakeIptablesOptions();
        if (Options.SeparateBackends)
        {
            Legacy = new FakeIptablesState(_gate, FakeIptablesBackend.Legacy, Options.Clock);
            Nft = new FakeIptablesState(_gate, FakeIptablesBackend.Nft, Options.Clock);
        }
        else
        {
            Legacy = Nft = new FakeIptablesState(_gate, Options.UnqualifiedBackend, Options.Clock);
        }
    }

    public FakeIptablesOptions Options { get; }

    /// <summary>What the legacy tools see; the same object as <see cref="Nft"/> unless backends are separate.</summary>
    public FakeIptablesState Legacy { get; }

    public FakeIptablesState Nft { get; }

    /// <summary>What <c>iptables-restore</c>/<c>iptables-save</c> (no backend in the name) see; the state the helpers below change.</summary>
    public FakeIptablesState Default => Options.UnqualifiedBackend == FakeIptablesBackend.Legacy ? Legacy : Nft;

    /// <summary>
    /// Runs just before a restore is applied, outside the fake's lock: a test changes the tables here
    /// as another process would between the code's read-back and its write. May throw (e.g.
    /// <see cref="CommandException"/> to play a timeout); the exception leaves RunAsync.
    /// </summary>
    public Action<Command>? BeforeRestore { get; set; }

    /// <summary>Runs just before a save reads the tables, outside the fake's lock: a test cancels a save in flight here.</summary>
    public Action<Command>? BeforeSave { get; set; }

    /// <summary>How long each successful save reports it took (no time passes: the agent's spacing of read-backs reads it).</summary>
    public TimeSpan SaveDuration { get; set; }

    /// <summary>How long each successful restore reports it took.</summary>
    public TimeSpan RestoreDuration { get; set; }

    /// <summary>Every command run, in order, with its stdin and result.</summary>
    public IReadOnlyList<FakeIptablesCall> Calls
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
        [.. Calls.Where(c => c.Tool == FakeIptablesTool.Restore).Select(c => c.Command.StandardInput?.ToString() ?? string.Empty)];

    /// <summary>Lines of all restore input so far that do something: see <see cref="CountLines"/>.</summary>
    public int LinesExecuted => RestoreInputs.Sum(CountLines);

    /// <summary>Lines of one restore input other than blanks, <c>#</c> comments, <c>*table</c> and <c>COMMIT</c>.</summary>
    public static int CountLines(string? input) =>
        input is null ? 0 : input.Split('\n').Count(line =>
            !string.IsNullOrWhiteSpace(line) && line[0] is not ('#' or '*') && line != "COMMIT");

    /// <summary>
    /// The next <paramref name="count"/> runs (of <paramref name="tool"/>, or of either) exit 1 with
    /// <paramref name="stderr"/> and change nothing; <see cref="BeforeRestore"/> does not run for them.
    /// </summary>
    public void FailNext(int count, string? stderr = null, FakeIptablesTool? tool = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_gate)
        {
            _failures = count;
            _failureStandardError = stderr;
            _failureTool = tool;
        }
    }

    public Task<CommandResult> RunAsync(Command command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        cancellationToken.ThrowIfCancellationRequested();
        var name = Path.GetFileName(command.FileName);
        var match = ToolName().Match(name);
        if (!match.Success)
        {
            Record(command, null, null);
            throw new CommandException($"cannot run {command.FileName}: No such file or directory");
        }
        var family = match.Groups[1].Value == "ip6tables" ? IpVersion.V6 : IpVersion.V4;
        var backend = match.Groups[2].Value switch
        {
            "legacy" => FakeIptablesBackend.Legacy,
            "nft" => FakeIptablesBackend.Nft,
            _ => Options.UnqualifiedBackend,
        };
        var tool = match.Groups[3].Value == "restore" ? FakeIptablesTool.Restore : FakeIptablesTool.Save;

        if (TryTakeInjectedFailure(tool, out var injected))
        {
            var failed = new CommandResult(1, string.Empty, injected ?? $"{name}: injected failure\n", TimeSpan.Zero);
            Record(command, tool, failed);
            return Task.FromResult(failed);
        }
        (tool == FakeIptablesTool.Restore ? BeforeRestore : BeforeSave)?.Invoke(command);
        // As the real runner: a run cancelled while it goes is killed and reported as cancelled.
        cancellationToken.ThrowIfCancellationRequested();
        CommandResult result;
        lock (_gate)
        {
            var state = backend == FakeIptablesBackend.Legacy ? Legacy : Nft;
            result = tool == FakeIptablesTool.Restore
                ? FakeRestore.Run(state, new RestoreDialect(backend, family, name, command.FileName), command.Arguments,
                    command.StandardInput?.ToString() ?? string.Empty, Options.SetExists)
                : FakeSave.Run(state, Options.SeparateBackends ? Legacy : null, backend, family, command.FileName, command.Arguments, Options.Clock);
            result = result with { Duration = tool == FakeIptablesTool.Restore ? RestoreDuration : SaveDuration };
            _calls.Add(new FakeIptablesCall(command, tool, result));
        }
        return Task.FromResult(StreamedOutput.Deliver(command, result));
    }

    /// <param name="tool">The tool about to run.</param>
    /// <param name="stderr">The stderr to give; null for the default text.</param>
    private bool TryTakeInjectedFailure(FakeIptablesTool tool, out string? stderr)
    {
        lock (_gate)
        {
            stderr = _failureStandardError;
            if (_failures == 0 || (_failureTool is { } only && only != tool))
            {
                return false;
            }
            _failures--;
            return true;
        }
    }

    private void Record(Command command, FakeIptablesTool? tool, CommandResult? result)
    {
        lock (_gate)
        {
            _calls.Add(new FakeIptablesCall(command, tool, result));
        }
    }

    [GeneratedRegex(@"^(ip6?tables)(?:-(legacy|nft))?-(restore|save)\z")]
    private static partial Regex ToolName();
}
