using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Felix.Dataplane.Netlink.Interop;
using static Felix.Dataplane.Netlink.Interop.CtnetlinkConstants;
using static Felix.Dataplane.Netlink.Interop.NetlinkConstants;

namespace Felix.Dataplane.Netlink;

/// <summary>A conntrack entry to delete: its original tuple and zone as the kernel sent them, to be sent back verbatim.</summary>
internal sealed record ConntrackEntry(byte[] OriginalTuple, byte[]? Zone);

/// <summary>
/// The ctnetlink messages of a conntrack flush, as pure functions over buffers: the dump of one
/// family's table, the test of an entry against the addresses being flushed, and the delete of one
/// entry. An entry is deleted by its original tuple and zone, copied from the dump rather than
/// rebuilt, so whatever the tuple holds (ports, ICMP id, a directional zone) names the same entry.
/// </summary>
internal static class CtnetlinkMessages
{
    /// <summary>Largest delete this writes: header, nfgenmsg, and the tuple and zone attributes as bounded by <see cref="MaxTupleBytes"/> and <see cref="MaxZoneBytes"/>.</summary>
    public const int MaxDeleteSize = 16 + 4 + 4 + MaxTupleBytes + 4 + MaxZoneBytes;

    /// <summary>An IPv6 tuple with ports or ICMP fields and a zone is under 100 bytes; a longer one is not a tuple this understands.</summary>
    public const int MaxTupleBytes = 192;

    /// <summary>
    /// <c>CTA_ZONE</c> is a 16-bit number: 2 bytes, 4 with padding. A longer one is malformed; taken
    /// verbatim it would not fit the delete it is copied into (a fuzz finding).
    /// </summary>
    public const int MaxZoneBytes = 4;

    public static void WriteDump(ref NetlinkWriter writer, uint sequence, IpVersion family)
    {
        writer.BeginMessage(IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, sequence);
        writer.Write(new nfgenmsg { nfgen_family = Family(family), version = NFNETLINK_V0 });
        writer.EndMessage();
    }

    /// <summary>Deletes one entry; answered by an acknowledgement, or <c>ENOENT</c> when the entry has gone already.</summary>
    public static void WriteDelete(ref NetlinkWriter writer, uint sequence, IpVersion family, ConntrackEntry entry)
    {
        writer.BeginMessage(IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, sequence);
        writer.Write(new nfgenmsg { nfgen_family = Family(family), version = NFNETLINK_V0 });
        writer.Attribute(CTA_TUPLE_ORIG | NLA_F_NESTED, entry.OriginalTuple);
        if (entry.Zone is { } zone)
        {
            writer.Attribute(CTA_ZONE, zone);
        }
        writer.EndMessage();
    }

    /// <summary>
    /// The entry of a dump message when one of its four addresses (original source and
    /// destination, reply source and destination) is in <paramref name="addresses"/>; null when none
    /// is, or the message is not an entry.
    /// </summary>
    /// <exception cref="MalformedNetlinkException">The message does not parse.</exception>
    public static ConntrackEntry? Match(NetlinkMessage message, ConntrackAddressSet addresses)
    {
        if (message.Header.nlmsg_type != IPCTNL_MSG_CT_NEW)
        {
            return null;
        }
        ReadOnlySpan<byte> original = default;
        ReadOnlySpan<byte> zone = default;
        var matched = false;
        var attributes = message.Attributes<nfgenmsg>();
        while (attributes.TryRead(out var type, out var value))
        {
            switch (type)
            {
                case CTA_TUPLE_ORIG:
                    original = value;
                    matched |= TupleMatches(value, addresses);
                    break;
                case CTA_TUPLE_REPLY:
                    matched |= TupleMatches(value, addresses);
                    break;
                case CTA_ZONE:
                    zone = value;
                    break;
            }
        }
        if (!matched)
        {
            return null;
        }
        if (original.IsEmpty || original.Length > MaxTupleBytes)
        {
            throw new MalformedNetlinkException($"conntrack entry with an original tuple of {original.Length} bytes");
        }
        if (zone.Length > MaxZoneBytes)
        {
            throw new MalformedNetlinkException($"conntrack entry with a zone of {zone.Length} bytes");
        }
        return new ConntrackEntry(original.ToArray(), zone.IsEmpty ? null : zone.ToArray());
    }

    private static bool TupleMatches(ReadOnlySpan<byte> tuple, ConntrackAddressSet addresses)
    {
        var attributes = new AttributeReader(tuple);
        while (attributes.TryRead(out var type, out var value))
        {
            if (type != CTA_TUPLE_IP)
            {
                continue;
            }
            var ip = new AttributeReader(value);
            while (ip.TryRead(out var field, out var address))
            {
                if (field is CTA_IP_V4_SRC or CTA_IP_V4_DST or CTA_IP_V6_SRC or CTA_IP_V6_DST && addresses.Contains(address))
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static byte Family(IpVersion family) => (byte)(family == IpVersion.V4 ? AF_INET : AF_INET6);
}

/// <summary>
/// The addresses of one flush, of one family, held as numbers so an entry's address bytes are
/// looked up without making an <see cref="IPAddress"/> of each: a table can hold millions.
/// </summary>
internal sealed class ConntrackAddressSet
{
    private readonly HashSet<UInt128> _addresses = [];
    private readonly int _length;

    public ConntrackAddressSet(IpVersion family, IEnumerable<IPAddress> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var wanted = family == IpVersion.V4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
        _length = family == IpVersion.V4 ? 4 : 16;
        Span<byte> bytes = stackalloc byte[16];
        foreach (var address in addresses)
        {
            if (address.AddressFamily == wanted && address.TryWriteBytes(bytes, out var length))
            {
                _addresses.Add(Key(bytes[..length]));
            }
        }
    }

    public int Count => _addresses.Count;

    public bool Contains(ReadOnlySpan<byte> address) => address.Length == _length && _addresses.Contains(Key(address));

    private static UInt128 Key(ReadOnlySpan<byte> address) =>
        address.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(address) : BinaryPrimitives.ReadUInt128BigEndian(address);
}
