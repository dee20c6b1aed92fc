using System.Globalization;
using Felix.Dataplane.Exec;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>The restore options the fake understands; <c>-w</c>/<c>-W</c>/<c>-v</c>/<c>-M</c> are accepted and change nothing.</summary>
internal sealed record RestoreArguments(bool NoFlush, bool Test, bool Counters, string? Table)
{
    public static RestoreArguments Parse(IReadOnlyList<string> arguments, RestoreDialect dialect)
    {
        bool noFlush = false, test = false, counters = false;
        string? table = null;
        for (var i = 0; i < arguments.Count; i++)
        {
            var argument = arguments[i];
            var hasNumber = i + 1 < arguments.Count && arguments[i + 1].Length > 0 && arguments[i + 1].All(char.IsAsciiDigit);
            switch (argument)
            {
                case "-n" or "--noflush":
                    noFlush = true;
                    break;
                case "-t" or "--test":
                    test = true;
                    break;
                case "-c" or "--counters":
                    counters = true;
                    break;
                case "-v" or "--verbose":
                    break;
                case "-w" or "--wait" or "-W" or "--wait-interval":
                    i += hasNumber ? 1 : 0;
                    break;
                case "-T" or "--table" or "-M" or "--modprobe" when i + 1 < arguments.Count:
                    table = argument is "-T" or "--table" ? arguments[i + 1] : table;
                    i++;
                    break;
                case var a when a.StartsWith("--wait=", StringComparison.Ordinal) || a.StartsWith("--wait-interval=", StringComparison.Ordinal):
                    break;
                case var a when a.StartsWith("--table=", StringComparison.Ordinal):
                    table = a["--table=".Length..];
                    break;
                case var a when a.Length > 2 && a[0] == '-' && a[1] != '-' && a[1..].All(c => c is 'n' or 't' or 'c' or 'v'):
                    noFlush |= a.Contains('n', StringComparison.Ordinal);
                    test |= a.Contains('t', StringComparison.Ordinal);
                    counters |= a.Contains('c', StringComparison.Ordinal);
                    break;
                case var a when a.StartsWith('-'):
                    throw dialect.UnknownOption(a);
                default:
                    throw new ArgumentException($"the fake reads restore input from stdin only, not from a file ('{argument}')", nameof(arguments));
            }
        }
        return new RestoreArguments(noFlush, test, counters, table);
    }
}

/// <summary>
/// One <c>iptables-restore</c> run. Each <c>*table</c> … <c>COMMIT</c> block works on a copy of the
/// table that replaces it at COMMIT; the first error ends the run, leaving earlier blocks committed
/// and later ones unread (both backends). Legacy carries out each line as it reads it; nft only
/// parses until COMMIT and then runs the block, which is why nft blames a missing jump target on the
/// COMMIT line, skips every table check under <c>--test</c>, and reports "COMMIT expected" instead of
/// an error inside an unterminated block.
/// </summary>
internal sealed partial class FakeRestore
{
    private static readonly Dictionary<string, char> Commands = new(StringComparer.Ordinal)
    {
        ["-A"] = 'A',
        ["--append"] = 'A',
        ["-I"] = 'I',
        ["--insert"] = 'I',
        ["-R"] = 'R',
        ["--replace"] = 'R',
        ["-D"] = 'D',
        ["--delete"] = 'D',
        ["-F"] = 'F',
        ["--flush"] = 'F',
        ["-X"] = 'X',
        ["--delete-chain"] = 'X',
        ["-N"] = 'N',
        ["--new-chain"] = 'N',
        ["-P"] = 'P',
        ["--policy"] = 'P',
        ["-S"] = 'S',
        ["--list-rules"] = 'S',
    };

    private readonly FakeIptablesState _state;
    private readonly RestoreDialect _dialect;
    private readonly RestoreArguments _arguments;
    private readonly Func<string, bool>? _setExists;
    private readonly List<Op> _queued = [];
    private readonly HashSet<string> _countersSet = new(StringComparer.Ordinal);
    private readonly List<string> _kernelErrors = [];
    private string? _table;
    private bool _skipping;
    private bool _listedAll;
    private bool _freshTable;
    private FakeTable? _working;

    private FakeRestore(FakeIptablesState state, RestoreDialect dialect, RestoreArguments arguments, Func<string, bool>? setExists)
    {
        _state = state;
        _dialect = dialect;
        _arguments = arguments;
        _setExists = setExists;
    }

    /// <summary>A parsed line: a chain declaration (<c>':'</c>) or a command letter, with what it needs.</summary>
    private sealed record Op(int Line, char Command, string? Chain, int? Position = null, ParsedRule? Rule = null,
        string? Policy = null, string? Counters = null);

    private FakeTable Working => _working ?? throw new InvalidOperationException("no table block is open");

    public static CommandResult Run(FakeIptablesState state, RestoreDialect dialect, IReadOnlyList<string> arguments, string input,
        Func<string, bool>? setExists)
    {
        try
        {
            new FakeRestore(state, dialect, RestoreArguments.Parse(arguments, dialect), setExists).Apply(input);
            return new CommandResult(0, string.Empty, string.Empty, TimeSpan.Zero);
        }
        catch (RestoreFailure failure)
        {
            return new CommandResult(failure.ExitCode, string.Empty, failure.StandardError, TimeSpan.Zero);
        }
    }

    private void Apply(string input)
    {
        var lines = input.Split('\n');
        var endsWithNewline = input.EndsWith('\n');
        var count = endsWithNewline ? lines.Length - 1 : lines.Length;
        for (var i = 0; i < count; i++)
        {
            var number = i + 1;
            var text = lines[i];
            if (string.IsNullOrWhiteSpace(text) || text[0] == '#')
            {
                continue;
            }
            if (_table is null)
            {
                if (text[0] != '*')
                {
                    throw _dialect.LineFailed(number);
                }
                Open(number, text);
            }
            else if (text == "COMMIT")
            {
                // Legacy compares the line with "COMMIT\n", so a last COMMIT without a newline is an argument.
                if (!_dialect.IsNft && i == count - 1 && !endsWithNewline)
                {
                    throw _dialect.Parameter(number, "Bad argument `COMMIT'", prefixed: false);
                }
                Commit(number);
            }
            else if (text[0] == '*')
            {
                throw _dialect.Parameter(number, $"Bad argument `{text.Split(' ', 2)[0]}'", prefixed: false);
            }
            else if (!_skipping)
            {
                Read(number, text);
            }
        }
        if (_table is not null)
        {
            throw _dialect.CommitExpected(count + 1);
        }
    }

    private void Read(int number, string text)
    {
        Op op;
        try
        {
            op = text[0] == ':' ? ParseDeclaration(number, text) : ParseCommand(number, text);
        }
        catch (ParameterProblemException problem)
        {
            throw _dialect.Parameter(number, problem);
        }
        if (_dialect.IsNft)
        {
            _queued.Add(op);
        }
        else
        {
            Execute(op, number);
        }
    }

    private void Open(int number, string text)
    {
        var name = text[1..].Split([' ', '\t'], 2)[0];
        if (!FakeTable.Builtins.ContainsKey(name))
        {
            throw _dialect.Parameter(number, _dialect.IsNft
                ? $"{_dialect.Program}: line {number.ToString(CultureInfo.InvariantCulture)} table name '{name}' invalid"
                : $"{_dialect.Program}: unable to initialize table '{name}'");
        }
        _table = name;
        _listedAll = false;
        _skipping = _arguments.Table is not null && _arguments.Table != name;
        _queued.Clear();
        _countersSet.Clear();
        _kernelErrors.Clear();
        if (_skipping)
        {
            return;
        }
        if (!_dialect.IsNft)
        {
            // Legacy initialises the kernel table as soon as it reads *table, even if the block then fails.
            _state.Ensure(_dialect.Family, name);
        }
        _freshTable = _state.Find(_dialect.Family, name) is null;
        _working = (_state.Find(_dialect.Family, name) ?? new FakeTable(name)).Clone();
        if (!_arguments.NoFlush)
        {
            // nft deletes and re-creates the table, so built-in policies go back to ACCEPT; legacy keeps them.
            _working.FlushAll(resetPolicies: _dialect.IsNft);
        }
    }

    private void Commit(int number)
    {
        if (!_skipping && !_arguments.Test)
        {
            var working = Working;
            if (_dialect.IsNft)
            {
                foreach (var op in _queued)
                {
                    Execute(op, number);
                }
                if (_kernelErrors.Count > 0)
                {
                    throw _dialect.Kernel(_kernelErrors);
                }
            }
            else if (working.Chains.SelectMany(c => c.Rules).Any(r => r.Target is { } t && !Targets.AllowedIn(t, working.Name, nft: false)))
            {
                // Legacy's kernel checks the whole table blob at commit and names only the COMMIT line.
                throw _dialect.LineFailed(number);
            }
            var nftCreatesNothing = _dialect.IsNft && _queued.Count == 0 && _arguments.NoFlush
                && _state.Find(_dialect.Family, working.Name) is null;
            if (!nftCreatesNothing)
            {
                // Legacy rewrites the whole table and zeroes the built-in chains' counters; nft leaves them.
                foreach (var chain in working.Chains.Where(c => c.IsBuiltin && !_countersSet.Contains(c.Name) && !_dialect.IsNft))
                {
                    chain.Counters = FakeTable.ZeroCounters;
                }
                _state.Replace(_dialect.Family, working);
            }
        }
        _table = null;
        _working = null;
        _skipping = false;
    }

    private Op ParseDeclaration(int number, string text)
    {
        var parts = text[1..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
        {
            throw new ParameterProblemException($"{_dialect.Program}: line {number.ToString(CultureInfo.InvariantCulture)} policy invalid");
        }
        CheckChainName(parts[0], declaration: true);
        var counters = _arguments.Counters && parts.Length > 2 && FakeIptablesState.IsCounters(parts[2]) ? parts[2] : null;
        return new Op(number, ':', parts[0], Policy: parts[1], Counters: counters);
    }

    private void CheckChainName(string chain, bool declaration)
    {
        if (chain.Length > RuleSpec.MaxNameLength)
        {
            throw new ParameterProblemException(_dialect.ChainNameTooLong(chain, declaration));
        }
        if (_dialect.IsNft && chain.StartsWith('-'))
        {
            throw new ParameterProblemException("chain name not allowed to start with `-'");
        }
    }
}
