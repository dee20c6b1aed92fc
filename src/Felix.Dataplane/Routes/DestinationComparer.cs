using System.Buffers.Binary;
using System.Net;

namespace Felix.Dataplane.Routes;

/// <summary>A destination as a route dump carries it: the address's bytes and the prefix length.</summary>
internal readonly ref struct DestinationBytes(ReadOnlySpan<byte> address, int prefixLength)
{
    public ReadOnlySpan<byte> Address { get; } = address;

    public int PrefixLength { get; } = prefixLength;
}

/// <summary>
/// Destinations compared by prefix and address, and looked up by the bytes a dump carries (an
/// alternate key): a read-back finds the record of an unchanged route without making an
/// <see cref="IPAddress"/> for it.
/// </summary>
internal sealed class DestinationComparer : IEqualityComparer<IPNetwork>, IAlternateEqualityComparer<DestinationBytes, IPNetwork>
{
    public static readonly DestinationComparer Instance = new();

    public bool Equals(IPNetwork x, IPNetwork y) => x.PrefixLength == y.PrefixLength && x.BaseAddress.Equals(y.BaseAddress);

    public int GetHashCode(IPNetwork obj)
    {
        Span<byte> bytes = stackalloc byte[16];
        obj.BaseAddress.TryWriteBytes(bytes, out var length);
        return Hash(bytes[..length], obj.PrefixLength);
    }

    public bool Equals(DestinationBytes alternate, IPNetwork other)
    {
        Span<byte> bytes = stackalloc byte[16];
        return other.PrefixLength == alternate.PrefixLength && other.BaseAddress.TryWriteBytes(bytes, out var length)
            && bytes[..length].SequenceEqual(alternate.Address);
    }

    public int GetHashCode(DestinationBytes alternate) => Hash(alternate.Address, alternate.PrefixLength);

    public IPNetwork Create(DestinationBytes alternate) => new(new IPAddress(alternate.Address), alternate.PrefixLength);

    /// <summary>A multiplicative hash of the address's words: 100k lookups a read-back, and the bytes are already well spread.</summary>
    private static int Hash(ReadOnlySpan<byte> address, int prefixLength)
    {
        var hash = (ulong)prefixLength;
        for (var i = 0; i + 8 <= address.Length; i += 8)
        {
            hash = (hash ^ BinaryPrimitives.ReadUInt64LittleEndian(address[i..])) * 0x9E3779B97F4A7C15UL;
        }
        if (address.Length % 8 == 4)
        {
            hash = (hash ^ BinaryPrimitives.ReadUInt32LittleEndian(address[^4..])) * 0x9E3779B97F4A7C15UL;
        }
        return (int)(hash ^ (hash >> 32));
    }
}
