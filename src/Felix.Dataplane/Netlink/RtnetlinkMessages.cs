using System.Net;
using System.Net.Sockets;
using System.Text;
using Felix.Dataplane.Netlink.Interop;
using static Felix.Dataplane.Netlink.Interop.NetlinkConstants;

namespace Felix.Dataplane.Netlink;

/// <summary>
/// The rtnetlink messages the agent sends, and the decoding of what the kernel answers. Requests
/// are written by <see cref="NetlinkWriter"/>; answers are read with <see cref="NetlinkReader"/>,
/// and a field the kernel would never send (an address of the wrong length, a prefix longer than
/// the family allows) is a <see cref="MalformedNetlinkException"/>.
/// </summary>
internal static class RtnetlinkMessages
{
    /// <summary>Room enough for the largest request written here (a route with gateway: 16 + 12 + 20 + 8 + 20; a link by name: 16 + 16 + 8 + 20).</summary>
    public const int MaxRequestSize = 128;

    private const ushort Request = NLM_F_REQUEST | NLM_F_ACK;

    public static void Write(ref NetlinkWriter writer, NetlinkRequest request, uint sequence)
    {
        switch (request)
        {
            case SetLinkUp up:
                writer.BeginMessage(RTM_NEWLINK, Request, sequence);
                writer.Write(new ifinfomsg { ifi_family = AF_UNSPEC, ifi_index = up.InterfaceIndex, ifi_flags = IFF_UP, ifi_change = IFF_UP });
                break;
            case ReplaceRoute replace:
                WriteRoute(ref writer, RTM_NEWROUTE, Request | NLM_F_CREATE | NLM_F_REPLACE, sequence, replace.Route, deleting: false);
                return;
            case AddRoute add:
                WriteRoute(ref writer, RTM_NEWROUTE, Request | NLM_F_CREATE | NLM_F_EXCL, sequence, add.Route, deleting: false);
                return;
            case DeleteRoute delete:
                WriteRoute(ref writer, RTM_DELROUTE, Request, sequence, delete.Route, deleting: true);
                return;
            case ReplaceNeighbor neighbor:
                WriteNeighbor(ref writer, sequence, neighbor.InterfaceIndex, neighbor.Address, neighbor.LinkAddress, flags: 0);
                return;
            case ReplaceProxyNeighbor proxy:
                WriteNeighbor(ref writer, sequence, proxy.InterfaceIndex, proxy.Address, null, NTF_PROXY);
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(request), request, "not a request this codec writes");
        }
        writer.EndMessage();
    }

    /// <summary>
    /// A dump of every link, without their statistics: the agent reads none, and they are a quarter
    /// of each message (a kernel older than the mask bit ignores it and sends them anyway).
    /// </summary>
    public static void WriteLinkDump(ref NetlinkWriter writer, uint sequence)
    {
        writer.BeginMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, sequence);
        writer.Write(new ifinfomsg { ifi_family = AF_UNSPEC });
        writer.Attribute(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        writer.EndMessage();
    }

    /// <summary>
    /// One link by name or by index, without statistics. No acknowledgement is asked for: the
    /// answer is the link (<c>RTM_NEWLINK</c>) or an error (<c>ENODEV</c>: no such link).
    /// </summary>
    public static void WriteLinkGet(ref NetlinkWriter writer, uint sequence, LinkKey key)
    {
        writer.BeginMessage(RTM_GETLINK, NLM_F_REQUEST, sequence);
        writer.Write(new ifinfomsg { ifi_family = AF_UNSPEC, ifi_index = key.Name is null ? key.Index : 0 });
        writer.Attribute(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        if (key.Name is { } name)
        {
            writer.Attribute(IFLA_IFNAME, name);
        }
        writer.EndMessage();
    }

    /// <summary>
    /// A dump of one family's main table. With strict checking on (kernel 4.20 and later) the kernel
    /// itself filters by table and protocol; older kernels ignore the filter, and the caller filters.
    /// </summary>
    public static void WriteRouteDump(ref NetlinkWriter writer, uint sequence, IpVersion family, byte protocol)
    {
        writer.BeginMessage(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, sequence);
        writer.Write(new rtmsg { rtm_family = Family(family), rtm_table = RT_TABLE_MAIN, rtm_protocol = protocol });
        writer.EndMessage();
    }

    /// <summary>A route lookup of one address (<c>ip route get</c>): the answer is the route a packet to it takes, or an error.</summary>
    public static void WriteRouteGet(ref NetlinkWriter writer, uint sequence, IPAddress address)
    {
        writer.BeginMessage(RTM_GETROUTE, NLM_F_REQUEST, sequence);
        Span<byte> bytes = stackalloc byte[16];
        var written = Bytes(address, bytes);
        writer.Write(new rtmsg { rtm_family = Family(address), rtm_dst_len = (byte)(written.Length * 8) });
        writer.Attribute(RTA_DST, written);
        writer.EndMessage();
    }

    /// <summary>The output interface (<c>RTA_OIF</c>) of a route message, 0 when it has none.</summary>
    public static int DecodeOutputInterface(NetlinkMessage message)
    {
        var attributes = message.Attributes<rtmsg>();
        while (attributes.TryRead(out var type, out var value))
        {
            if (type == RTA_OIF)
            {
                return (int)AttributeReader.ReadUInt32(type, value);
            }
        }
        return 0;
    }

    /// <summary>
    /// A delete names the protocol and, where known, the interface and gateway: the kernel then
    /// deletes only a route that is ours. Its scope is "nowhere", which matches any.
    /// </summary>
    private static void WriteRoute(ref NetlinkWriter writer, ushort type, ushort flags, uint sequence, RouteSpec route, bool deleting)
    {
        var destination = route.Destination.BaseAddress;
        writer.BeginMessage(type, flags, sequence);
        writer.Write(new rtmsg
        {
            rtm_family = Family(destination),
            rtm_dst_len = (byte)route.Destination.PrefixLength,
            rtm_table = RT_TABLE_MAIN,
            rtm_protocol = route.Protocol,
            rtm_scope = deleting ? RtScopeNowhere : (byte)route.Scope,
            rtm_type = deleting ? (byte)0 : RTN_UNICAST,
            rtm_flags = route.OnLink ? RTNH_F_ONLINK : 0,
        });
        Span<byte> address = stackalloc byte[16];
        writer.Attribute(RTA_DST, Bytes(destination, address));
        if (route.InterfaceIndex != 0)
        {
            writer.Attribute(RTA_OIF, (uint)route.InterfaceIndex);
        }
        if (route.Gateway is { } gateway)
        {
            writer.Attribute(RTA_GATEWAY, Bytes(gateway, address));
        }
        writer.EndMessage();
    }

    private static void WriteNeighbor(ref NetlinkWriter writer, uint sequence, int interfaceIndex, IPAddress address, byte[]? linkAddress, byte flags)
    {
        writer.BeginMessage(RTM_NEWNEIGH, Request | NLM_F_CREATE | NLM_F_REPLACE, sequence);
        writer.Write(new ndmsg { ndm_family = Family(address), ndm_ifindex = interfaceIndex, ndm_state = NUD_PERMANENT, ndm_flags = flags });
        Span<byte> bytes = stackalloc byte[16];
        writer.Attribute(NDA_DST, Bytes(address, bytes));
        if (linkAddress is not null)
        {
            writer.Attribute(NDA_LLADDR, linkAddress);
        }
        writer.EndMessage();
    }

    /// <summary>An <c>RTM_NEWLINK</c> or <c>RTM_DELLINK</c>: the link, or null for a message without a name.</summary>
    public static LinkInfo? DecodeLink(NetlinkMessage message)
    {
        var info = message.Fixed<ifinfomsg>();
        var attributes = message.Attributes<ifinfomsg>();
        string? name = null;
        byte[]? address = null;
        while (attributes.TryRead(out var type, out var value))
        {
            if (type == IFLA_IFNAME)
            {
                var end = value.IndexOf((byte)0);
                name = Encoding.UTF8.GetString(end < 0 ? value : value[..end]);
            }
            else if (type == IFLA_ADDRESS)
            {
                address = value.ToArray();
            }
        }
        return name is null ? null : new LinkInfo(info.ifi_index, name, (info.ifi_flags & IFF_UP) != 0, address);
    }

    /// <summary>An <c>RTM_NEWROUTE</c> of a dump: the route, or null when it is not a unicast route of the main table.</summary>
    public static RouteSpec? DecodeRoute(NetlinkMessage message) => ReadRoute(message, out var route) ? route.ToSpec() : null;

    /// <summary>
    /// An <c>RTM_NEWROUTE</c> of a dump, checked but not made a <see cref="RouteSpec"/> (nothing
    /// allocated): false when it is not a unicast route of the main table.
    /// </summary>
    public static bool ReadRoute(NetlinkMessage message, out DumpedRoute dumped)
    {
        dumped = default;
        var route = message.Fixed<rtmsg>();
        var hostPrefix = route.rtm_family switch
        {
            AF_INET => 32,
            AF_INET6 => 128,
            _ => throw new MalformedNetlinkException($"route of address family {route.rtm_family}"),
        };
        if (route.rtm_dst_len > hostPrefix)
        {
            throw new MalformedNetlinkException($"route prefix /{route.rtm_dst_len} longer than /{hostPrefix}");
        }
        uint table = route.rtm_table;
        // No RTA_DST: the default route, to the zero address of the family.
        var destination = hostPrefix == 32 ? ZeroAddress[..4] : ZeroAddress;
        var gateway = ReadOnlySpan<byte>.Empty;
        var interfaceIndex = 0;
        var attributes = message.Attributes<rtmsg>();
        while (attributes.TryRead(out var type, out var value))
        {
            switch (type)
            {
                case RTA_DST:
                    destination = Address(value, hostPrefix, "RTA_DST");
                    break;
                case RTA_GATEWAY:
                    gateway = Address(value, hostPrefix, "RTA_GATEWAY");
                    break;
                case RTA_OIF:
                    interfaceIndex = (int)AttributeReader.ReadUInt32(type, value);
                    break;
                case RTA_TABLE:
                    table = AttributeReader.ReadUInt32(type, value);
                    break;
            }
        }
        if (route.rtm_type != RTN_UNICAST || table != RT_TABLE_MAIN)
        {
            return false;
        }
        dumped = new DumpedRoute(destination, route.rtm_dst_len, interfaceIndex, gateway, (route.rtm_flags & RTNH_F_ONLINK) != 0,
            (RouteScope)route.rtm_scope, route.rtm_protocol);
        return true;
    }

    /// <summary>The errno of an <c>NLMSG_ERROR</c> (0 for an acknowledgement) and the extended-ack message, if any.</summary>
    public static (int Errno, string? Message) DecodeError(NetlinkMessage message)
    {
        var error = message.Fixed<nlmsgerr>();
        string? text = null;
        if ((message.Header.nlmsg_flags & NLM_F_ACK_TLVS) != 0)
        {
            // Capped: only the request's header is echoed, and the TLVs follow it; otherwise the whole request is.
            // The echoed length comes from the wire: reckoned in 64 bits, so no value can wrap around.
            var echoed = (message.Header.nlmsg_flags & NLM_F_CAPPED) != 0 ? 16L : error.msg.nlmsg_len;
            var offset = (4 + echoed + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1L);
            if (offset > message.Payload.Length)
            {
                throw new MalformedNetlinkException($"error message of {message.Payload.Length} bytes claims TLVs after byte {offset}");
            }
            var attributes = new AttributeReader(message.Payload[(int)offset..]);
            while (attributes.TryRead(out var type, out var value))
            {
                if (type == NLMSGERR_ATTR_MSG)
                {
                    var end = value.IndexOf((byte)0);
                    text = Encoding.UTF8.GetString(end < 0 ? value : value[..end]);
                }
            }
        }
        return (-error.error, text);
    }

    private const byte RtScopeNowhere = 255;

    private static byte Family(IpVersion family) => family == IpVersion.V6 ? (byte)AF_INET6 : (byte)AF_INET;

    private static byte Family(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? (byte)AF_INET6 : (byte)AF_INET;

    private static ReadOnlySpan<byte> Bytes(IPAddress address, Span<byte> buffer)
    {
        address.TryWriteBytes(buffer, out var written);
        return buffer[..written];
    }

    private static ReadOnlySpan<byte> ZeroAddress => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private static ReadOnlySpan<byte> Address(ReadOnlySpan<byte> value, int hostPrefix, string what) =>
        value.Length == hostPrefix / 8 ? value : throw new MalformedNetlinkException($"{what} of {value.Length} bytes in a /{hostPrefix} family");
}
