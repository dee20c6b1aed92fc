using System.Runtime.InteropServices;
using Felix.Dataplane.Netlink.Interop;

namespace Felix.Dataplane.Netlink;

/// <summary>
/// Writes netlink messages into a caller's buffer: every message and attribute starts 4-byte
/// aligned, padding is zeroed (the buffer may hold an earlier batch), and the lengths of a message
/// and of a nested attribute are written back when they close, so no length is ever computed by
/// hand. Running out of room is a bug in the caller's sizing and throws.
/// </summary>
internal ref struct NetlinkWriter(Span<byte> buffer)
{
    private readonly Span<byte> _buffer = buffer;
    private int _messageStart = -1;

    public int Position { get; private set; }

    public readonly int Remaining => _buffer.Length - Position;

    public readonly ReadOnlySpan<byte> Written => _buffer[..Position];

    public static int Align(int length) => (length + NetlinkConstants.NLMSG_ALIGNTO - 1) & ~(NetlinkConstants.NLMSG_ALIGNTO - 1);

    /// <summary>Starts a message; its length is written by <see cref="EndMessage"/>.</summary>
    public void BeginMessage(ushort type, ushort flags, uint sequence)
    {
        if (_messageStart >= 0)
        {
            throw new InvalidOperationException("a netlink message is already open");
        }
        _messageStart = Position;
        Write(new nlmsghdr { nlmsg_type = type, nlmsg_flags = flags, nlmsg_seq = sequence });
    }

    /// <summary>A fixed-size family header (<c>rtmsg</c>, <c>ifinfomsg</c>, …), padded to alignment.</summary>
    public void Write<T>(in T header)
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in header));
        Append(bytes);
    }

    public void Attribute(ushort type, scoped ReadOnlySpan<byte> value)
    {
        var length = checked((ushort)(4 + value.Length));
        Write(new rtattr { rta_len = length, rta_type = type });
        Append(value);
    }

    public void Attribute(ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[sizeof(uint)];
        MemoryMarshal.Write(bytes, in value);
        Attribute(type, bytes);
    }

    /// <summary>A string attribute, NUL-terminated as the kernel expects (<c>IFLA_IFNAME</c>).</summary>
    public void Attribute(ushort type, string value)
    {
        Span<byte> text = stackalloc byte[System.Text.Encoding.UTF8.GetMaxByteCount(value.Length) + 1];
        var length = System.Text.Encoding.UTF8.GetBytes(value, text);
        text[length] = 0;
        Attribute(type, text[..(length + 1)]);
    }

    /// <summary>Opens a nested attribute; returns where it starts, for <see cref="EndNested"/>.</summary>
    public int BeginNested(ushort type)
    {
        var start = Position;
        Write(new rtattr { rta_len = 0, rta_type = type });
        return start;
    }

    public readonly void EndNested(int start)
    {
        var length = checked((ushort)(Position - start));
        MemoryMarshal.Write(_buffer[start..], new rtattr { rta_len = length, rta_type = MemoryMarshal.Read<rtattr>(_buffer[start..]).rta_type });
    }

    /// <summary>Writes the open message's length into its header.</summary>
    public void EndMessage()
    {
        if (_messageStart < 0)
        {
            throw new InvalidOperationException("no netlink message is open");
        }
        MemoryMarshal.Write(_buffer[_messageStart..], (uint)(Position - _messageStart));
        _messageStart = -1;
    }

    private void Append(scoped ReadOnlySpan<byte> bytes)
    {
        var padded = Align(bytes.Length);
        if (padded > Remaining)
        {
            throw new InvalidOperationException($"netlink buffer of {_buffer.Length} bytes is full");
        }
        bytes.CopyTo(_buffer[Position..]);
        _buffer.Slice(Position + bytes.Length, padded - bytes.Length).Clear();
        Position += padded;
    }
}
