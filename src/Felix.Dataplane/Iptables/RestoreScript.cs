using System.Text;

namespace Felix.Dataplane.Iptables;

/// <summary>
/// Renders a table's complete felix content as <c>iptables-restore --noflush</c> input: every chain
/// declared, then filled, then the hooks inserted at the top of their built-in chains. This is the
/// whole-table form — what a first start on an empty host writes and what tests load with
/// <c>--test</c>; steady-state applies write differences instead.
/// </summary>
public static class RestoreScript
{
    public static string Render(TableName table, IEnumerable<Chain> chains, IEnumerable<Hook> hooks)
    {
        var ordered = chains.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            if (ordered[i].Name == ordered[i - 1].Name)
            {
                throw new ArgumentException($"chain {ordered[i].Name} is given twice", nameof(chains));
            }
        }
        var text = new StringBuilder();
        text.Append('*').Append(table.ToRestoreName()).Append('\n');
        foreach (var chain in ordered)
        {
            text.Append(':').Append(chain.Name).Append(" - [0:0]\n");
        }
        foreach (var chain in ordered)
        {
            foreach (var rule in chain.Rules)
            {
                rule.AppendBody(text.Append("-A ").Append(chain.Name).Append(' ')).Append('\n');
            }
        }
        // Inserted last-to-first at position 1, so the hooks end up at the top in the order given.
        foreach (var hook in hooks.Reverse())
        {
            hook.Rule.AppendBody(text.Append("-I ").Append(hook.BuiltinChain).Append(" 1 ")).Append('\n');
        }
        text.Append("COMMIT\n");
        return text.ToString();
    }
}
