using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Felix.Dataplane.Netlink.Interop;

namespace Felix.Dataplane.Netlink;

/// <summary>
/// Reads the netlink messages of one received datagram. No length is trusted: a header's
/// <c>nlmsg_len</c> must cover at least the header and at most what is left of the buffer, and
/// anything else — a truncated header, a length past the end — is a
/// <see cref="MalformedNetlinkException"/>, never a read outside the buffer.
/// </summary>
internal ref struct NetlinkReader(ReadOnlySpan<byte> buffer)
{
    private static readonly int HeaderSize = Unsafe.SizeOf<nlmsghdr>();

    private ReadOnlySpan<byte> _rest = buffer;

    /// <summary>The next message, or false at the end of the datagram.</summary>
    public bool TryRead(out NetlinkMessage message)
    {
        message = default;
        if (_rest.IsEmpty)
        {
            return false;
        }
        if (_rest.Length < HeaderSize)
        {
            throw new MalformedNetlinkException($"{_rest.Length} bytes left, too few for a message header");
        }
        var header = MemoryMarshal.Read<nlmsghdr>(_rest);
        if (header.nlmsg_len < HeaderSize || header.nlmsg_len > _rest.Length)
        {
            throw new MalformedNetlinkException($"message length {header.nlmsg_len} outside {HeaderSize}..{_rest.Length}");
        }
        var length = (int)header.nlmsg_len;
        message = new NetlinkMessage(header, _rest[HeaderSize..length]);
        // The last message of a datagram need not be padded.
        _rest = _rest[Math.Min(NetlinkWriter.Align(length), _rest.Length)..];
        return true;
    }
}

/// <summary>One message: its header and the payload after it.</summary>
internal readonly ref struct NetlinkMessage(nlmsghdr header, ReadOnlySpan<byte> payload)
{
    public nlmsghdr Header { get; } = header;

    public ReadOnlySpan<byte> Payload { get; } = payload;

    /// <summary>The fixed family header at the start of the payload; malformed when the payload is shorter.</summary>
    public T Fixed<T>()
        where T : unmanaged
    {
        var size = Unsafe.SizeOf<T>();
        return Payload.Length >= size
            ? MemoryMarshal.Read<T>(Payload)
            : throw new MalformedNetlinkException($"message type {Header.nlmsg_type}: {Payload.Length} payload bytes, too few for {typeof(T).Name} ({size})");
    }

    /// <summary>The attributes after the fixed family header <typeparamref name="T"/>.</summary>
    public AttributeReader Attributes<T>()
        where T : unmanaged
    {
        Fixed<T>();
        return new AttributeReader(Payload[Math.Min(NetlinkWriter.Align(Unsafe.SizeOf<T>()), Payload.Length)..]);
    }
}

/// <summary>Reads a run of attributes, with the same distrust of every length as <see cref="NetlinkReader"/>.</summary>
internal ref struct AttributeReader(ReadOnlySpan<byte> attributes)
{
    private const int HeaderSize = 4;

    private ReadOnlySpan<byte> _rest = attributes;

    /// <summary>The next attribute's type (nested and byte-order flags masked off) and value, or false at the end.</summary>
    public bool TryRead(out ushort type, out ReadOnlySpan<byte> value)
    {
        type = 0;
        value = default;
        if (_rest.IsEmpty)
        {
            return false;
        }
        if (_rest.Length < HeaderSize)
        {
            throw new MalformedNetlinkException($"{_rest.Length} bytes left, too few for an attribute header");
        }
        var header = MemoryMarshal.Read<rtattr>(_rest);
        if (header.rta_len < HeaderSize || header.rta_len > _rest.Length)
        {
            throw new MalformedNetlinkException($"attribute {header.rta_type} length {header.rta_len} outside {HeaderSize}..{_rest.Length}");
        }
        type = (ushort)(header.rta_type & 0x3fff);
        value = _rest[HeaderSize..header.rta_len];
        _rest = _rest[Math.Min(NetlinkWriter.Align(header.rta_len), _rest.Length)..];
        return true;
    }

    /// <summary>A 4-byte value; malformed when the attribute is another size.</summary>
    public static uint ReadUInt32(ushort type, ReadOnlySpan<byte> value) =>
        value.Length == 4 ? MemoryMarshal.Read<uint>(value) : throw new MalformedNetlinkException($"attribute {type}: {value.Length} bytes, expected 4");
}

/// <summary>Input from the kernel (or anything claiming to be it) that is not well-formed netlink.</summary>
public sealed class MalformedNetlinkException : Exception
{
    public MalformedNetlinkException()
    {
    }

    public MalformedNetlinkException(string message)
        : base(message)
    {
    }

    public MalformedNetlinkException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
