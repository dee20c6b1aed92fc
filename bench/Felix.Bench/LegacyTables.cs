using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Felix.Bench;

/// <summary>
/// The legacy (x_tables) side of <see cref="KernelProbe"/>: a legacy table is one blob the kernel
/// replaces whole, read with <c>getsockopt(IPT_SO_GET_ENTRIES)</c> on a raw socket, as
/// <c>iptables-legacy-save</c> does, but without a process and without parsing. A user chain starts
/// with an <c>ERROR</c> target whose data is its name, so finding the name, NUL-terminated, finds the
/// chain. The cheap <c>IPT_SO_GET_INFO</c> (entry count and blob size) says whether the blob changed
/// since the last read, and then it is read again. A rule replaced by one of the same size (a log
/// prefix of the same length) changes neither, so an unchanged blob is read again as well once it
/// is older than <see cref="StaleFactor"/> times its last read took (at least
/// <see cref="MinimumAge"/>): at 10k endpoints the blob is megabytes, and reading it every
/// millisecond would take a core from the agent being measured.
/// </summary>
internal sealed class LegacyTables : IDisposable
{
    // <linux/netfilter_ipv4/ip_tables.h>
    private const int SolIp = 0;
    private const int IptSoGetInfo = 64;
    private const int IptSoGetEntries = 65;
    private const int TableNameLength = 32;

    /// <summary><c>struct ipt_getinfo</c>: name[32], valid_hooks, hook_entry[5], underflow[5], num_entries, size.</summary>
    private const int InfoLength = 84;

    /// <summary><c>struct ipt_get_entries</c>: name[32] and size, the entries 8-byte aligned after them.</summary>
    private const int EntriesHeader = 40;

    private const int StaleFactor = 4;

    private static readonly TimeSpan MinimumAge = TimeSpan.FromMilliseconds(5);

    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Raw);
    private readonly Dictionary<string, (uint Entries, uint Size, byte[] Blob, long ReadAt, TimeSpan Took)> _cache = new(StringComparer.Ordinal);

    public bool HasChain(string table, string chain) => Contains(table, chain + "\0");

    /// <summary>Whether the table's blob holds <paramref name="text"/>'s bytes; false while the table does not exist.</summary>
    public bool Contains(string table, string text) =>
        Blob(table) is { } blob && blob.AsSpan().IndexOf(Encoding.ASCII.GetBytes(text)) >= 0;

    private byte[]? Blob(string table)
    {
        var info = new byte[InfoLength];
        Encoding.ASCII.GetBytes(table, info.AsSpan(0, TableNameLength - 1));
        try
        {
            _socket.GetRawSocketOption(SolIp, IptSoGetInfo, info);
        }
        catch (SocketException)
        {
            // ENOENT: the table was never created in this namespace.
            return null;
        }
        var (entries, size) = (BinaryPrimitives.ReadUInt32LittleEndian(info.AsSpan(76)), BinaryPrimitives.ReadUInt32LittleEndian(info.AsSpan(80)));
        if (_cache.TryGetValue(table, out var cached) && cached.Entries == entries && cached.Size == size
            && System.Diagnostics.Stopwatch.GetElapsedTime(cached.ReadAt) < TimeSpan.FromTicks(Math.Max(MinimumAge.Ticks, StaleFactor * cached.Took.Ticks)))
        {
            return cached.Blob;
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var buffer = new byte[EntriesHeader + (int)size];
        Encoding.ASCII.GetBytes(table, buffer.AsSpan(0, TableNameLength - 1));
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(TableNameLength), size);
        try
        {
            _socket.GetRawSocketOption(SolIp, IptSoGetEntries, buffer);
        }
        catch (SocketException)
        {
            // EAGAIN: replaced between the two calls, its size changed; the next poll reads it again.
            _cache.Remove(table);
            return null;
        }
        _cache[table] = (entries, size, buffer, System.Diagnostics.Stopwatch.GetTimestamp(), System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return buffer;
    }

    public void Dispose() => _socket.Dispose();
}
