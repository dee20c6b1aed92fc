using System.Text;

namespace Felix.Dataplane.Iptables;

/// <summary>
/// One <c>iptables-restore --noflush</c> input for one table, built in the only order the kernel
/// accepts in a single transaction: new chains declared (so rules may jump to them), rules edited,
/// hooks moved, then chains that go away flushed and, once nothing refers to them, deleted.
/// <see cref="Lines"/> counts the lines that change something (not <c>*table</c> or COMMIT).
/// </summary>
public sealed class RestoreBatch
{
    private readonly StringBuilder _text = new();

    public RestoreBatch(TableName table)
    {
        _text.Append('*').Append(table.ToRestoreName()).Append('\n');
    }

    public int Lines { get; private set; }

    public bool IsEmpty => Lines == 0;

    public void DeclareChain(string chain) => Line().Append(':').Append(chain).Append(" - [0:0]\n");

    public void Append(string chain, IptablesRule rule) =>
        rule.AppendHashedBody(Line().Append("-A ").Append(chain).Append(' ')).Append('\n');

    public void Insert(string chain, int position, IptablesRule rule) =>
        rule.AppendHashedBody(Line().Append("-I ").Append(chain).Append(' ').Append(position).Append(' ')).Append('\n');

    public void Replace(string chain, int position, IptablesRule rule) =>
        rule.AppendHashedBody(Line().Append("-R ").Append(chain).Append(' ').Append(position).Append(' ')).Append('\n');

    public void Delete(string chain, int position) => Line().Append("-D ").Append(chain).Append(' ').Append(position).Append('\n');

    public void Flush(string chain) => Line().Append("-F ").Append(chain).Append('\n');

    public void DeleteChain(string chain) => Line().Append("-X ").Append(chain).Append('\n');

    /// <summary>The complete input, ending in COMMIT.</summary>
    public string Text => _text.ToString() + "COMMIT\n";

    private StringBuilder Line()
    {
        Lines++;
        return _text;
    }
}
