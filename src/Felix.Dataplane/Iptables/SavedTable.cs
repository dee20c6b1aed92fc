using Felix.Dataplane.Exec;

namespace Felix.Dataplane.Iptables;

/// <summary>A rule as read back: our hash if it has one, and the chain it jumps or goes to, if any.</summary>
public readonly record struct SavedRule(string? Hash, string? Target);

/// <summary>A chain as read back. Built-in chains have a policy; user chains have <c>-</c>.</summary>
public sealed record SavedChain(string Name, bool IsBuiltin, IReadOnlyList<SavedRule> Rules);

/// <summary>
/// One table of <c>iptables-save</c> output, reduced to what the agent needs: every chain's name,
/// and per rule its hash and jump target. Rules are not parsed any further, so a rule someone else
/// wrote in a syntax we do not know cannot confuse the reader; only its position and whether it is
/// ours matter.
/// </summary>
/// <remarks>
/// At 10k endpoints the output is ~190k lines (~30 MB of text). It is read line by line over
/// spans as the program prints it: splitting it into line strings, or even holding it whole, set
/// the agent's peak memory. Chain names and targets repeat on every rule, so each is allocated
/// once per parse.
/// </remarks>
public sealed class SavedTable
{
    private SavedTable(IReadOnlyDictionary<string, SavedChain> chains)
    {
        Chains = chains;
    }

    public IReadOnlyDictionary<string, SavedChain> Chains { get; }

    /// <summary>Parses the block of <paramref name="table"/>; a table not in the output is empty.</summary>
    /// <exception cref="FormatException">The block is not in iptables-save's format.</exception>
    public static SavedTable Parse(string saveOutput, TableName table)
    {
        ArgumentNullException.ThrowIfNull(saveOutput);
        var reader = new Reader(table);
        OutputLines.Feed(saveOutput, reader);
        return reader.Finish();
    }

    /// <summary>
    /// Reads the block of one table from save output given a line at a time, as the program
    /// prints it (<see cref="Command.OutputLines"/>), so the output is never held whole.
    /// </summary>
    public sealed class Reader : IOutputLines
    {
        private readonly string _header;
        private readonly Dictionary<string, (bool Builtin, List<SavedRule> Rules)> _chains = new(StringComparer.Ordinal);
        private readonly HashSet<string> _targets = new(StringComparer.Ordinal);
        private readonly List<string> _order = [];
        private bool _inTable;
        private bool _done;
        private int _lineNumber;
        private string? _error;

        public Reader(TableName table)
        {
            _header = "*" + table.ToRestoreName();
        }

        public void Line(ReadOnlySpan<char> line)
        {
            _lineNumber++;
            if (_done)
            {
                return;
            }
            line = line.TrimEnd('\r');
            if (!_inTable)
            {
                _inTable = line.SequenceEqual(_header);
                return;
            }
            if (line.SequenceEqual("COMMIT"))
            {
                _done = true;
                return;
            }
            if (line.IsEmpty || line[0] == '#')
            {
                return;
            }
            if (line[0] == ':')
            {
                var space = line.IndexOf(' ');
                if (space < 2)
                {
                    Fail($"line {_lineNumber}: chain line without a policy: {line}");
                    return;
                }
                var name = line[1..space].ToString();
                _chains[name] = (!line[(space + 1)..].StartsWith('-'), []);
                _order.Add(name);
                return;
            }
            if (!TrySplitAppend(line, out var chainName, out var body)
                || !_chains.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(chainName, out var chain))
            {
                Fail($"line {_lineNumber}: not a rule of a declared chain: {line}");
                return;
            }
            var target = FindTarget(body);
            chain.Rules.Add(new SavedRule(RuleHash.Find(body), target.IsEmpty ? null : Intern(_targets, target)));
        }

        /// <summary>The table as read.</summary>
        /// <exception cref="FormatException">A line was not in iptables-save's format.</exception>
        public SavedTable Finish()
        {
            if (_error is not null)
            {
                throw new FormatException(_error);
            }
            return new SavedTable(_order.ToDictionary(
                n => n, n => new SavedChain(n, _chains[n].Builtin, _chains[n].Rules), StringComparer.Ordinal));
        }

        private void Fail(string error)
        {
            _error = error;
            _done = true;
        }
    }

    /// <summary><c>-A CHAIN BODY</c>, the body possibly empty (a rule with no match and no target).</summary>
    private static bool TrySplitAppend(ReadOnlySpan<char> line, out ReadOnlySpan<char> chain, out ReadOnlySpan<char> body)
    {
        chain = body = default;
        if (!line.StartsWith("-A "))
        {
            return false;
        }
        var rest = line[3..];
        var space = rest.IndexOf(' ');
        if (space <= 0)
        {
            return false;
        }
        chain = rest[..space];
        body = rest[(space + 1)..];
        return true;
    }

    /// <summary>
    /// The first <c>-j</c>/<c>-g</c> target at the start of the body or after a space (not inside a
    /// quoted comment: those hold no " -j "); empty if the rule has none.
    /// </summary>
    internal static ReadOnlySpan<char> FindTarget(ReadOnlySpan<char> body)
    {
        for (var i = 0; i + 3 < body.Length; i++)
        {
            if (body[i] != '-' || (body[i + 1] != 'j' && body[i + 1] != 'g') || body[i + 2] != ' ' || (i > 0 && body[i - 1] != ' '))
            {
                continue;
            }
            var rest = body[(i + 3)..];
            var end = rest.IndexOf(' ');
            var target = end < 0 ? rest : rest[..end];
            if (!target.IsEmpty)
            {
                return target;
            }
        }
        return default;
    }

    private static string Intern(HashSet<string> seen, ReadOnlySpan<char> value)
    {
        if (seen.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(value, out var known))
        {
            return known;
        }
        var text = value.ToString();
        seen.Add(text);
        return text;
    }
}
