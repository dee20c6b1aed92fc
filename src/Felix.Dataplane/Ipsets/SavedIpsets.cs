using System.Net;
using Felix.Dataplane.Exec;

namespace Felix.Dataplane.Ipsets;

/// <summary>
/// What <c>ipset save</c> shows: every felix set with its type, family, <c>maxelem</c> and members,
/// and how many sets there are in all. Other programs' sets are counted and otherwise skipped, so
/// a large foreign set costs a scan, not a parse. Hashsize, bucketsize and the hash seed are
/// ignored: the kernel changes them on its own.
/// </summary>
internal sealed class SavedIpsets
{
    private SavedIpsets(Dictionary<string, SavedIpset> owned, int total)
    {
        Owned = owned;
        Total = total;
    }

    /// <summary>The felix sets (temporary ones included), by name.</summary>
    public IReadOnlyDictionary<string, SavedIpset> Owned { get; }

    /// <summary>All sets in the namespace, ours and others'.</summary>
    public int Total { get; }

    /// <exception cref="FormatException">A line that save does not print.</exception>
    public static SavedIpsets Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var reader = new Reader();
        OutputLines.Feed(text, reader);
        return reader.Finish();
    }

    /// <summary>
    /// Reads save output given a line at a time as the program prints it
    /// (<see cref="Command.OutputLines"/>): at scale it is hundreds of thousands of members.
    /// </summary>
    public sealed class Reader : IOutputLines
    {
        private readonly Dictionary<string, SavedIpset> _owned = new(StringComparer.Ordinal);
        private int _total;
        private int _number;
        private string? _error;

        public void Line(ReadOnlySpan<char> line)
        {
            _number++;
            line = line.TrimEnd('\r');
            if (_error is not null || line.IsEmpty)
            {
                return;
            }
            if (line.StartsWith("add "))
            {
                var rest = line[4..];
                var space = rest.IndexOf(' ');
                if (space <= 0)
                {
                    _error = $"ipset save line {_number} is not an add of a member: {line}";
                    return;
                }
                var name = rest[..space];
                if (name.StartsWith(IpSetNames.OwnedPrefix) && _owned.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out var set))
                {
                    set.AddSavedMember(rest[(space + 1)..]);
                }
                return;
            }
            if (!line.StartsWith("create "))
            {
                _error = $"ipset save line {_number} is neither create nor add: {line}";
                return;
            }
            _total++;
            var words = line.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length < 3)
            {
                _error = $"ipset save line {_number} is a create without a type: {line}";
                return;
            }
            if (IpSetNames.IsOwned(words[1]))
            {
                _owned[words[1]] = SavedIpset.FromCreate(words);
            }
        }

        /// <summary>The sets as read.</summary>
        /// <exception cref="FormatException">A line that save does not print.</exception>
        public SavedIpsets Finish() => _error is null ? new SavedIpsets(_owned, _total) : throw new FormatException(_error);
    }
}

/// <summary>
/// One felix set as the kernel holds it. <see cref="Type"/> or <see cref="Family"/> is null, or
/// <see cref="Plain"/> false, for a set we would not have created that way (another type, extra
/// options such as timeouts or counters, members that do not parse): such a set is rewritten.
/// </summary>
internal sealed class SavedIpset
{
    private static readonly HashSet<string> PlainOptions = ["family", "hashsize", "maxelem", "bucketsize", "initval"];

    private SavedIpset(string name, IpSetType? type, IpVersion? family, long maxElem, bool plain)
    {
        Name = name;
        Type = type;
        Family = family;
        MaxElem = maxElem;
        Plain = plain;
    }

    public string Name { get; }

    public IpSetType? Type { get; }

    public IpVersion? Family { get; }

    public long MaxElem { get; }

    public bool Plain { get; private set; }

    public HashSet<IPNetwork> Members { get; } = [];

    public static SavedIpset FromCreate(string[] words)
    {
        IpSetType? type = IpSetTypes.TryParse(words[2], out var known) ? known : null;
        IpVersion? family = null;
        long maxElem = 0;
        var plain = true;
        for (var i = 3; i < words.Length; i++)
        {
            var value = i + 1 < words.Length ? words[i + 1] : null;
            switch (words[i])
            {
                case "family" when value is "inet" or "inet6":
                    family = value == "inet6" ? IpVersion.V6 : IpVersion.V4;
                    i++;
                    break;
                case "maxelem" when long.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var parsed):
                    maxElem = parsed;
                    i++;
                    break;
                case var option when PlainOptions.Contains(option) && value is not null:
                    i++;
                    break;
                default:
                    plain = false;
                    break;
            }
        }
        return new SavedIpset(words[1], type, family, maxElem, plain && type is not null && family is not null);
    }

    internal void AddSavedMember(ReadOnlySpan<char> text)
    {
        if (!Plain || Family is not { } family)
        {
            return;
        }
        if (IpSetMembers.TryParse(text, family, out var member))
        {
            Members.Add(member);
        }
        else
        {
            Plain = false;
        }
    }

    public IpSetMetadata Metadata => new(Type, Family, MaxElem, Plain);
}

/// <summary>A set as the kernel holds it, members aside.</summary>
internal sealed record IpSetMetadata(IpSetType? Type, IpVersion? Family, long MaxElem, bool Plain)
{
    public static IpSetMetadata Of(IpSetSpec spec) => new(spec.Type, spec.Family, spec.MaxSize, Plain: true);

    /// <summary>Whether the set is what <paramref name="spec"/> asks for, so deltas can bring its members in step.</summary>
    public bool Matches(IpSetSpec spec) => Plain && Type == spec.Type && Family == spec.Family && MaxElem == spec.MaxSize;

    /// <summary>Whether <c>swap</c> can exchange it with a set built to <paramref name="spec"/>: the kernel requires the same type and family.</summary>
    public bool SwappableWith(IpSetSpec spec) => Type == spec.Type && Family == spec.Family;
}
