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
/// At 10k endpoints the output is ~190k lines (~30 MB of text). It is read in place, line by line
/// over spans: splitting it into line strings first held a second copy of the whole table while
/// the first was still alive, and that transient copy set the agent's peak memory. Chain names
/// and targets repeat on every rule, so each is allocated once per parse.
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
        var header = "*" + table.ToRestoreName();
        var chains = new Dictionary<string, (bool Builtin, List<SavedRule> Rules)>(StringComparer.Ordinal);
        var byName = chains.GetAlternateLookup<ReadOnlySpan<char>>();
        var targets = new HashSet<string>(StringComparer.Ordinal);
        var order = new List<string>();
        var inTable = false;
        var lineNumber = 0;
        foreach (var raw in saveOutput.AsSpan().EnumerateLines())
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            if (!inTable)
            {
                inTable = line.SequenceEqual(header);
                continue;
            }
            if (line.SequenceEqual("COMMIT"))
            {
                break;
            }
            if (line.IsEmpty || line[0] == '#')
            {
                continue;
            }
            if (line[0] == ':')
            {
                var space = line.IndexOf(' ');
                if (space < 2)
                {
                    throw new FormatException($"line {lineNumber}: chain line without a policy: {line}");
                }
                var name = line[1..space].ToString();
                chains[name] = (!line[(space + 1)..].StartsWith('-'), []);
                order.Add(name);
                continue;
            }
            if (!TrySplitAppend(line, out var chainName, out var body) || !byName.TryGetValue(chainName, out var chain))
            {
                throw new FormatException($"line {lineNumber}: not a rule of a declared chain: {line}");
            }
            var target = FindTarget(body);
            chain.Rules.Add(new SavedRule(RuleHash.Find(body), target.IsEmpty ? null : Intern(targets, target)));
        }
        return new SavedTable(order.ToDictionary(
            n => n, n => new SavedChain(n, chains[n].Builtin, chains[n].Rules), StringComparer.Ordinal));
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
