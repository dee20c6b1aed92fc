using System.Text.RegularExpressions;

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
public sealed partial class SavedTable
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
        var header = "*" + table.ToRestoreName();
        var chains = new Dictionary<string, (bool Builtin, List<SavedRule> Rules)>(StringComparer.Ordinal);
        var order = new List<string>();
        var inTable = false;
        var lineNumber = 0;
        foreach (var raw in saveOutput.Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            if (!inTable)
            {
                inTable = line == header;
                continue;
            }
            if (line == "COMMIT")
            {
                break;
            }
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            if (line[0] == ':')
            {
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                if (space < 2)
                {
                    throw new FormatException($"line {lineNumber}: chain line without a policy: {line}");
                }
                var name = line[1..space];
                chains[name] = (line[(space + 1)..] is var rest && !rest.StartsWith('-'), []);
                order.Add(name);
                continue;
            }
            var rule = AppendLine().Match(line);
            if (!rule.Success || !chains.TryGetValue(rule.Groups[1].Value, out var chain))
            {
                throw new FormatException($"line {lineNumber}: not a rule of a declared chain: {line}");
            }
            var body = rule.Groups[2].Value;
            var target = Target().Match(body);
            chain.Rules.Add(new SavedRule(RuleHash.Find(body), target.Success ? target.Groups[1].Value : null));
        }
        return new SavedTable(order.ToDictionary(
            n => n, n => new SavedChain(n, chains[n].Builtin, chains[n].Rules), StringComparer.Ordinal));
    }

    [GeneratedRegex(@"^-A (\S+) (.*)\z")]
    private static partial Regex AppendLine();

    /// <summary>The <c>-j</c>/<c>-g</c> target, at the start or after a space (not inside a quoted comment: those hold no " -j ").</summary>
    [GeneratedRegex(@"(?:^| )-[jg] ([^ ]+)")]
    private static partial Regex Target();
}
