using System.Buffers.Binary;
using System.Net;
using System.Runtime.InteropServices;
using Felix.Agent.Model;

namespace Felix.Agent.Calculation;

/// <summary>
/// Reference-counted members of every tag's sets, cluster-wide, whether or not a rule uses the
/// tag yet: the same IP reaches a set through several (endpoint, profile) pairs, and it must stay
/// until the last of them goes. Kept for unused tags too, so a rule starting to use a tag costs
/// one copy of its members instead of a scan of the cluster. Besides the counts it remembers,
/// for each IP whose presence flipped since <see cref="ForgetChanges"/>, whether it was a member
/// then; a delta is therefore computed from what changed, never by comparing whole sets.
/// </summary>
internal sealed class TagMembers
{
    private readonly Dictionary<IpSetId, Dictionary<IPAddress, int>> _counts = [];
    private readonly Dictionary<IpSetId, Dictionary<IPAddress, bool>> _flipped = [];

    /// <summary>Sets whose membership flipped since the last <see cref="ForgetChanges"/>.</summary>
    public IEnumerable<IpSetId> Changed => _flipped.Keys;

    public void Adjust(string tag, IPNetwork net, int delta)
    {
        var id = new IpSetId(tag, Networks.FamilyOf(net));
        var ip = net.BaseAddress;
        if (!_counts.TryGetValue(id, out var counts))
        {
            counts = [];
            _counts[id] = counts;
        }
        ref var count = ref CollectionsMarshal.GetValueRefOrAddDefault(counts, ip, out _);
        var before = count;
        count += delta;
        if (count < 0)
        {
            throw new InvalidOperationException($"{ip} left {id} more often than it joined");
        }
        var after = count;
        if (after == 0)
        {
            counts.Remove(ip);
            if (counts.Count == 0)
            {
                _counts.Remove(id);
            }
        }
        if ((before == 0) != (after == 0))
        {
            if (!_flipped.TryGetValue(id, out var flips))
            {
                flips = [];
                _flipped[id] = flips;
            }
            flips.TryAdd(ip, before > 0);
        }
    }

    public EquatableList<IPAddress> Members(IpSetId id) =>
        _counts.TryGetValue(id, out var counts) ? Sorted(counts.Keys) : [];

    /// <summary>The members gained and lost since <see cref="ForgetChanges"/>, against what the set held then.</summary>
    public (EquatableList<IPAddress> Added, EquatableList<IPAddress> Removed) Delta(IpSetId id)
    {
        if (!_flipped.TryGetValue(id, out var flips))
        {
            return ([], []);
        }
        var current = _counts.GetValueOrDefault(id);
        var added = new List<IPAddress>();
        var removed = new List<IPAddress>();
        foreach (var (ip, wasMember) in flips)
        {
            var isMember = current is not null && current.ContainsKey(ip);
            if (isMember && !wasMember)
            {
                added.Add(ip);
            }
            else if (wasMember && !isMember)
            {
                removed.Add(ip);
            }
        }
        return (Sorted(added), Sorted(removed));
    }

    public void ForgetChanges() => _flipped.Clear();

    /// <summary>
    /// Sorts by a numeric key per address rather than a comparer that re-reads both addresses'
    /// bytes on every comparison: a tag added to a busy profile sorts tens of thousands at once.
    /// A set holds one family, so the key need not order v4 against v6.
    /// </summary>
    private static EquatableList<IPAddress> Sorted(IEnumerable<IPAddress> ips)
    {
        var array = ips.ToArray();
        var keys = new UInt128[array.Length];
        Span<byte> bytes = stackalloc byte[16];
        for (var i = 0; i < array.Length; i++)
        {
            array[i].TryWriteBytes(bytes, out var length);
            keys[i] = length == 4
                ? BinaryPrimitives.ReadUInt32BigEndian(bytes)
                : BinaryPrimitives.ReadUInt128BigEndian(bytes);
        }
        Array.Sort(keys, array);
        return EquatableList.Create<IPAddress>(array);
    }
}

/// <summary>Orders addresses by family, then bytes, so emitted member lists are deterministic.</summary>
internal sealed class AddressOrder : IComparer<IPAddress>
{
    public static AddressOrder Instance { get; } = new();

    public int Compare(IPAddress? x, IPAddress? y)
    {
        if (x is null || y is null)
        {
            return (x is null).CompareTo(y is null);
        }
        var family = x.AddressFamily.CompareTo(y.AddressFamily);
        if (family != 0)
        {
            return family;
        }
        Span<byte> a = stackalloc byte[16];
        Span<byte> b = stackalloc byte[16];
        x.TryWriteBytes(a, out var lengthA);
        y.TryWriteBytes(b, out var lengthB);
        return a[..lengthA].SequenceCompareTo(b[..lengthB]);
    }
}
