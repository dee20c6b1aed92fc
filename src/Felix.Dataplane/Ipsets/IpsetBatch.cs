using System.Globalization;
using System.Net;
using System.Text;
using Felix.Dataplane.Exec;

namespace Felix.Dataplane.Ipsets;

/// <summary>What a line of a batch does, so a refusal can be pinned on one set and handled for what it was.</summary>
internal enum IpsetLineKind
{
    Create,
    Add,
    Delete,
    Swap,
    Rename,
    Destroy,
}

/// <summary>
/// The input of one <c>ipset restore</c>, one command per line (the tool numbers lines from 1 and
/// names the line it refused), with the set each line is for: the set rules see, even when the
/// line writes its temporary set (set with <see cref="For"/> before that set's lines).
/// </summary>
internal sealed class IpsetBatch
{
    private readonly StringBuilder _text = new();
    private readonly List<(IpsetLineKind Kind, string Set)> _lines = [];
    private string _owner = string.Empty;

    public int Lines => _lines.Count;

    public bool IsEmpty => _lines.Count == 0;

    /// <summary>The input as the pieces it was built in: a cold start's is 250k lines.</summary>
    public CommandInput Input => CommandInput.Wrap(string.Empty, _text, string.Empty);

    public string Text => _text.ToString();

    /// <summary>The command and set of a 1-based line, or null for a number outside the batch.</summary>
    /// <summary>The set the following lines are for.</summary>
    public void For(string set) => _owner = set;

    public (IpsetLineKind Kind, string Set)? LineAt(int number) =>
        number >= 1 && number <= _lines.Count ? _lines[number - 1] : null;

    public void Create(string name, IpSetSpec spec, int expectedMembers)
    {
        var hashSize = HashSizeFor(expectedMembers);
        Line(IpsetLineKind.Create, $"create {name} {spec.Type.ToIpsetName()} family {spec.Family.ToFamilyName()} hashsize {hashSize.ToString(CultureInfo.InvariantCulture)} maxelem {spec.MaxSize.ToString(CultureInfo.InvariantCulture)}");
    }

    public void Add(string name, IPNetwork member)
    {
        _lines.Add((IpsetLineKind.Add, _owner));
        IpSetMembers.AppendTo(_text.Append("add ").Append(name).Append(' '), member).Append('\n');
    }

    /// <summary>With <c>-exist</c>: a member already gone is what we wanted, not an error.</summary>
    public void Delete(string name, IPNetwork member)
    {
        _lines.Add((IpsetLineKind.Delete, _owner));
        IpSetMembers.AppendTo(_text.Append("del ").Append(name).Append(' '), member).Append(" -exist\n");
    }

    public void Swap(string from, string to) => Line(IpsetLineKind.Swap, $"swap {from} {to}");

    public void Rename(string from, string to) => Line(IpsetLineKind.Rename, $"rename {from} {to}");

    public void Destroy(string name) => Line(IpsetLineKind.Destroy, $"destroy {name}");

    /// <summary>
    /// Sized for the members about to be added (about four per bucket, where the kernel would have
    /// grown to after resizing several times during the fill); never below ipset's default.
    /// </summary>
    internal static long HashSizeFor(int members)
    {
        const long Default = 1024;
        var wanted = Math.Max(Default, members / 4L);
        return (long)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)wanted);
    }

    private void Line(IpsetLineKind kind, string text)
    {
        _lines.Add((kind, _owner));
        _text.Append(text).Append('\n');
    }
}
