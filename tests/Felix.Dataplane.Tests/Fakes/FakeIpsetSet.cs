using System.Globalization;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>The set types the fake keeps: the two Felix programs, and two it only has to live alongside.</summary>
internal enum IpsetKind
{
    HashIp,
    HashNet,
    HashIpPort,
    ListSet,
}

internal static class IpsetKinds
{
    private static readonly Dictionary<string, IpsetKind> ByName = new(StringComparer.Ordinal)
    {
        ["hash:ip"] = IpsetKind.HashIp,
        ["hash:net"] = IpsetKind.HashNet,
        ["hash:ip,port"] = IpsetKind.HashIpPort,
        ["list:set"] = IpsetKind.ListSet,
    };

    public static bool TryParse(string name, out IpsetKind kind) => ByName.TryGetValue(name, out kind);

    public static string Name(IpsetKind kind) => ByName.First(pair => pair.Value == kind).Key;

    /// <summary>The newest revision each type has on kernel 6.x, which list prints.</summary>
    public static int Revision(IpsetKind kind) => kind switch
    {
        IpsetKind.HashIp => 6,
        IpsetKind.ListSet => 3,
        _ => 7,
    };
}

/// <summary>A member of a hash set: an address, its prefix (always the host prefix but in hash:net) and, for hash:ip,port, a port.</summary>
internal readonly record struct IpsetEntry(UInt128 Address, int Prefix, byte Protocol, ushort Port) : IComparable<IpsetEntry>
{
    public const byte Tcp = 6;

    private static readonly Dictionary<byte, string> ProtocolNames = new() { [Tcp] = "tcp", [17] = "udp", [132] = "sctp", [136] = "udplite" };

    public static bool TryParseProtocol(string name, out byte protocol)
    {
        protocol = ProtocolNames.FirstOrDefault(pair => pair.Value == name).Key;
        return protocol != 0;
    }

    public string Format(IpsetKind kind, IpVersion family)
    {
        var address = FakeIpsetAddress.Format(Address, family);
        return kind switch
        {
            IpsetKind.HashNet when Prefix != FakeIpsetAddress.HostPrefix(family) => string.Create(CultureInfo.InvariantCulture, $"{address}/{Prefix}"),
            IpsetKind.HashIpPort => string.Create(CultureInfo.InvariantCulture, $"{address},{ProtocolNames[Protocol]}:{Port}"),
            _ => address,
        };
    }

    public int CompareTo(IpsetEntry other)
    {
        var byAddress = Address.CompareTo(other.Address);
        var byPrefix = byAddress != 0 ? byAddress : Prefix.CompareTo(other.Prefix);
        var byProtocol = byPrefix != 0 ? byPrefix : Protocol.CompareTo(other.Protocol);
        return byProtocol != 0 ? byProtocol : Port.CompareTo(other.Port);
    }
}

/// <summary>
/// One kernel set. Its name, references and list:set memberships belong to the kernel's slot and stay
/// put when the set is swapped; everything else (<see cref="Contents"/>) moves with a swap.
/// </summary>
internal sealed class FakeIpsetSet(string name, IpsetKind kind, IpVersion family, IpsetContents contents)
{
    public string Name { get; set; } = name;

    public IpsetKind Kind { get; } = kind;

    /// <summary>Meaningless for list:set, which prints no family.</summary>
    public IpVersion Family { get; } = family;

    public IpsetContents Contents { get; set; } = contents;

    /// <summary>References a test declared ("an iptables rule uses this set").</summary>
    public int ExternalReferences { get; set; }

    /// <summary>How many list:set sets hold this one.</summary>
    public int ListReferences { get; set; }

    public int References => ExternalReferences + ListReferences;

    public int Count => Kind == IpsetKind.ListSet ? Contents.SetMembers.Count : Contents.Entries.Count;

    public string TypeName => IpsetKinds.Name(Kind);

    /// <summary>The member lines of save and list: hash members in the fake's fixed order, list:set members in list order.</summary>
    public IEnumerable<string> MemberTexts =>
        Kind == IpsetKind.ListSet ? Contents.SetMembers : Contents.Entries.Select(entry => entry.Format(Kind, Family));

    /// <summary>What save prints after the type and list prints after "Header: ".</summary>
    public string Header => Kind == IpsetKind.ListSet
        ? string.Create(CultureInfo.InvariantCulture, $"size {Contents.ListSize}")
        : string.Create(CultureInfo.InvariantCulture,
            $"family {FakeIpsetAddress.FamilyName(Family)} hashsize {Contents.HashSize} maxelem {Contents.MaxElem} bucketsize {Contents.BucketSize} initval 0x{Contents.InitVal:x8}");

    /// <summary>
    /// The kernel's estimate, as list prints it: the type's fixed part, 24 bytes per extra lock
    /// region (one per 1024 buckets), and per member one bucket of two slots. The kernel puts
    /// members in buckets by a random hash and grows a full bucket, so a real set of colliding
    /// members reports more; the numbers were read off sets of one member per bucket.
    /// </summary>
    public long MemorySize
    {
        get
        {
            if (Kind == IpsetKind.ListSet)
            {
                return 80 + (48L * Count);
            }
            var v4 = Family == IpVersion.V4;
            var (fixedPart, slot) = Kind switch
            {
                IpsetKind.HashNet => v4 ? (456, 8) : (1240, 20),
                IpsetKind.HashIpPort => v4 ? (216, 8) : (224, 20),
                _ => v4 ? (216, 4) : (224, 16),
            };
            var regions = Math.Max(1, Contents.HashSize / 1024);
            return fixedPart + (24L * (regions - 1)) + (Count * (32L + (2 * slot)));
        }
    }
}

/// <summary>What a set holds and was created with; swapped whole between two sets by <c>swap</c>.</summary>
internal sealed class IpsetContents
{
    public long HashSize { get; init; }

    public long MaxElem { get; init; }

    public int BucketSize { get; init; }

    public uint InitVal { get; init; }

    public int ListSize { get; init; }

    public SortedSet<IpsetEntry> Entries { get; } = [];

    public List<string> SetMembers { get; } = [];
}
