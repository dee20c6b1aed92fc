using System.Net;

namespace Felix.Dataplane;

/// <summary>
/// <see cref="IPNetwork"/>'s constructor quietly clears the bits of the base address past the
/// prefix, so <c>10.65.0.7/24</c> becomes <c>10.65.0.0/24</c>. Where an address and prefix come from
/// the wire, such a value is not something the kernel would send: it is checked before it is built.
/// </summary>
public static class IpNetworks
{
    /// <summary>The network of <paramref name="address"/>/<paramref name="prefix"/>, or null when the address has bits set past the prefix or the prefix is out of range.</summary>
    public static IPNetwork? TryCreate(IPAddress address, int prefix)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var length);
        if (prefix < 0 || prefix > length * 8)
        {
            return null;
        }
        for (var bit = prefix; bit < length * 8; bit++)
        {
            if ((bytes[bit / 8] & (0x80 >> (bit % 8))) != 0)
            {
                return null;
            }
        }
        return new IPNetwork(address, prefix);
    }
}

/// <summary>
/// Networks by family, then address, then prefix length: batches and logs come out in one stable
/// order on every run (ipset deltas, route requests).
/// </summary>
public sealed class NetworkOrder : IComparer<IPNetwork>
{
    public static readonly NetworkOrder Instance = new();

    public int Compare(IPNetwork x, IPNetwork y)
    {
        Span<byte> left = stackalloc byte[16];
        Span<byte> right = stackalloc byte[16];
        x.BaseAddress.TryWriteBytes(left, out var leftLength);
        y.BaseAddress.TryWriteBytes(right, out var rightLength);
        var order = leftLength.CompareTo(rightLength);
        if (order == 0)
        {
            order = left[..leftLength].SequenceCompareTo(right[..rightLength]);
        }
        return order != 0 ? order : x.PrefixLength.CompareTo(y.PrefixLength);
    }
}

/// <summary>
/// Equality of networks with a cheap hash: <see cref="IPNetwork"/>'s own hashes the address with
/// a randomized byte hash, and a read-back hashes every dumped route's destination afresh (100k
/// addresses a refresh at scale). The address bytes themselves, folded, spread well enough; the
/// keys come from the cluster's own datastore and kernel, not from strangers who could pick colliding ones.
/// </summary>
public sealed class NetworkKeyComparer : IEqualityComparer<IPNetwork>
{
    public static readonly NetworkKeyComparer Instance = new();

    public bool Equals(IPNetwork x, IPNetwork y) => x.PrefixLength == y.PrefixLength && x.BaseAddress.Equals(y.BaseAddress);

    public int GetHashCode(IPNetwork obj)
    {
        Span<byte> bytes = stackalloc byte[16];
        obj.BaseAddress.TryWriteBytes(bytes, out var length);
        var hash = obj.PrefixLength;
        for (var i = 0; i + 4 <= length; i += 4)
        {
            hash = (hash * 31) ^ System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes[i..]);
        }
        return hash;
    }
}
