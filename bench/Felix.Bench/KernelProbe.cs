using System.Net;
using System.Runtime.InteropServices;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Netlink.Interop;
using static Felix.Dataplane.Netlink.Interop.NetlinkConstants;

namespace Felix.Bench;

/// <summary>
/// The end-to-end bench's polls: is this chain, route or set member in the kernel yet? Each is one
/// netlink request for that one object and its answer, a few microseconds: spawning
/// <c>iptables-nft -S</c> or <c>ipset test</c> costs milliseconds, which would both blur when an
/// object appeared and take CPU from the agent being measured (on two cores, every poll counts).
/// Lookups, not dumps, so their cost does not grow with the 10k endpoints' objects around them.
/// The bench checks what it saw against the tools after every sample (see <see cref="E2eSamples"/>).
/// </summary>
internal sealed class KernelProbe : IDisposable
{
    // <linux/netlink.h>, <linux/netfilter/nfnetlink.h>, <linux/netfilter/nf_tables.h>, <linux/netfilter/ipset/ip_set.h>
    private const int NETLINK_NETFILTER = 12;
    private const byte NFPROTO_IPV4 = 2;
    private const ushort NfTablesGetChain = (10 << 8) | 4;
    private const ushort NfTablesNewChain = (10 << 8) | 3;
    private const ushort NfTablesGetRule = (10 << 8) | 7;
    private const ushort NFTA_RULE_TABLE = 1;
    private const ushort NFTA_RULE_CHAIN = 2;
    private const ushort NFTA_CHAIN_TABLE = 1;
    private const ushort NFTA_CHAIN_NAME = 3;
    private const ushort IpsetTest = (6 << 8) | 11;
    private const ushort IPSET_ATTR_PROTOCOL = 1;
    private const ushort IPSET_ATTR_SETNAME = 2;
    private const ushort IPSET_ATTR_DATA = 7;
    private const ushort IPSET_ATTR_IP = 1;
    private const ushort IPSET_ATTR_IPADDR_IPV4 = 1;
    private const ushort NLA_F_NESTED = 0x8000;
    private const ushort NLA_F_NET_BYTEORDER = 0x4000;

    /// <summary>The oldest ipset protocol the kernel still takes (<c>IPSET_PROTOCOL_MIN</c>): any kernel answers it.</summary>
    private const byte IpsetProtocol = 6;

    /// <summary><c>IPSET_ERR_EXIST</c>: what a test answers for an address not in the set.</summary>
    private const int IpsetNotMember = 4103;

    // <linux/rtnetlink.h>: answer with the FIB entry that matched, protocol and device included, not a resolved route.
    private const uint RTM_F_FIB_MATCH = 0x2000;

    private const int ENOENT = 2;
    private const int ENETUNREACH = 101;

    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(5);

    private readonly NetlinkSocket _netfilter;
    private readonly NetlinkSocket _route;
    private readonly LegacyTables? _legacy;
    private readonly byte[] _send = new byte[512];
    private readonly byte[] _receive = new byte[64 * 1024];
    private uint _sequence = (uint)Environment.TickCount;

    private KernelProbe(NetlinkSocket netfilter, NetlinkSocket route, LegacyTables? legacy)
    {
        _netfilter = netfilter;
        _route = route;
        _legacy = legacy;
    }

    /// <summary>
    /// Opens the probe's sockets in this process's network namespace; chains are looked up in
    /// nftables, or, for <c>legacy</c>, in the x_tables blob (see <see cref="LegacyTables"/>).
    /// </summary>
    public static KernelProbe Open(string backend)
    {
        var netfilter = NetlinkSocket.Open(NETLINK_NETFILTER, 0, AnswerTimeout, 256 * 1024);
        try
        {
            return new KernelProbe(netfilter, NetlinkSocket.Open(NETLINK_ROUTE, 0, AnswerTimeout, 256 * 1024),
                backend == "legacy" ? new LegacyTables() : null);
        }
        catch
        {
            netfilter.Dispose();
            throw;
        }
    }

    /// <summary>Whether the IPv4 (<c>ip</c> family) nftables table holds the chain; iptables-nft's tables are such tables.</summary>
    public bool HasChain(string table, string chain)
    {
        if (_legacy is not null)
        {
            return _legacy.HasChain(table, chain);
        }
        var writer = new NetlinkWriter(_send);
        writer.BeginMessage(NfTablesGetChain, NLM_F_REQUEST | NLM_F_ACK, ++_sequence);
        writer.Write(new NfGenMessage(NFPROTO_IPV4));
        writer.Attribute(NFTA_CHAIN_TABLE, table);
        writer.Attribute(NFTA_CHAIN_NAME, chain);
        writer.EndMessage();
        var (found, errno) = Ask(_netfilter, writer.Written, NfTablesNewChain, static _ => true);
        // ENOENT: no such chain, or no such table yet.
        return errno is 0 or ENOENT ? found : throw Refused($"looking up chain {table}/{chain}", errno);
    }

    /// <summary>
    /// Whether some rule of the chain carries <paramref name="text"/> (a log prefix, say) in its
    /// encoding; a dump of that one chain's rules (nft), or of the table's blob (legacy).
    /// </summary>
    public bool ChainContains(string table, string chain, string text)
    {
        if (_legacy is not null)
        {
            return _legacy.Contains(table, text);
        }
        var writer = new NetlinkWriter(_send);
        writer.BeginMessage(NfTablesGetRule, NLM_F_REQUEST | NLM_F_DUMP, ++_sequence);
        writer.Write(new NfGenMessage(NFPROTO_IPV4));
        writer.Attribute(NFTA_RULE_TABLE, table);
        writer.Attribute(NFTA_RULE_CHAIN, chain);
        writer.EndMessage();
        _netfilter.Send(writer.Written);
        var needle = System.Text.Encoding.ASCII.GetBytes(text);
        var found = false;
        // A dump ends with NLMSG_DONE, or an error (ENOENT while the chain does not exist); bounded by the socket's receive timeout.
        while (true)
        {
            var reader = new NetlinkReader(_receive.AsSpan(0, _netfilter.Receive(_receive)));
            while (reader.TryRead(out var message))
            {
                if (message.Header.nlmsg_seq != _sequence)
                {
                    continue;
                }
                if (message.Header.nlmsg_type is NLMSG_DONE or NLMSG_ERROR)
                {
                    return found;
                }
                found |= message.Payload.IndexOf(needle) >= 0;
            }
        }
    }

    /// <summary>Whether <paramref name="destination"/>'s <c>/32</c> route goes through link <paramref name="linkIndex"/> with <paramref name="protocol"/>.</summary>
    public bool HasRoute(IPAddress destination, int linkIndex, byte protocol)
    {
        var writer = new NetlinkWriter(_send);
        writer.BeginMessage(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK, ++_sequence);
        writer.Write(new rtmsg { rtm_family = AF_INET, rtm_dst_len = 32, rtm_flags = RTM_F_FIB_MATCH });
        writer.Attribute(RTA_DST, destination.GetAddressBytes());
        writer.EndMessage();
        var (found, errno) = Ask(_route, writer.Written, RTM_NEWROUTE, message =>
        {
            var header = message.Fixed<rtmsg>();
            var attributes = message.Attributes<rtmsg>();
            var device = 0;
            while (attributes.TryRead(out var type, out var value))
            {
                device = type == RTA_OIF ? (int)AttributeReader.ReadUInt32(type, value) : device;
            }
            return header.rtm_dst_len == 32 && header.rtm_protocol == protocol && device == linkIndex;
        });
        // ENETUNREACH: nothing matches (the namespace has no default route).
        return errno is 0 or ENETUNREACH ? found : throw Refused($"looking up the route to {destination}", errno);
    }

    /// <summary>Whether the IPv4 set holds <paramref name="member"/>; false while the set does not exist.</summary>
    public bool HasMember(string set, IPAddress member)
    {
        var writer = new NetlinkWriter(_send);
        writer.BeginMessage(IpsetTest, NLM_F_REQUEST | NLM_F_ACK, ++_sequence);
        writer.Write(new NfGenMessage(NFPROTO_IPV4));
        writer.Attribute(IPSET_ATTR_PROTOCOL, [IpsetProtocol]);
        writer.Attribute(IPSET_ATTR_SETNAME, set);
        // The kernel insists on the flags: nested data, and the address in network order.
        var data = writer.BeginNested(IPSET_ATTR_DATA | NLA_F_NESTED);
        var ip = writer.BeginNested(IPSET_ATTR_IP | NLA_F_NESTED);
        writer.Attribute(IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER, member.GetAddressBytes());
        writer.EndNested(ip);
        writer.EndNested(data);
        writer.EndMessage();
        // A test is answered by its acknowledgement alone: 0 for a member, IPSET_ERR_EXIST for anything else.
        var (_, errno) = Ask(_netfilter, writer.Written, 0, static _ => false);
        return errno switch
        {
            0 => true,
            IpsetNotMember or ENOENT => false,
            _ => throw Refused($"testing {member} in set {set}", errno),
        };
    }

    public void Dispose()
    {
        _legacy?.Dispose();
        _netfilter.Dispose();
        _route.Dispose();
    }

    private delegate bool Matcher(NetlinkMessage message);

    /// <summary>
    /// Sends one request and reads up to its acknowledgement: whether an answer of
    /// <paramref name="answerType"/> that <paramref name="matches"/> came first, and the
    /// acknowledgement's errno (positive; 0 for success).
    /// </summary>
    private (bool Found, int Errno) Ask(NetlinkSocket socket, ReadOnlySpan<byte> request, ushort answerType, Matcher matches)
    {
        socket.Send(request);
        var found = false;
        while (true)
        {
            var reader = new NetlinkReader(_receive.AsSpan(0, socket.Receive(_receive)));
            while (reader.TryRead(out var message))
            {
                if (message.Header.nlmsg_seq != _sequence)
                {
                    continue; // An answer to an earlier request that timed out.
                }
                if (message.Header.nlmsg_type == NLMSG_ERROR)
                {
                    return (found, -message.Fixed<nlmsgerr>().error);
                }
                found |= message.Header.nlmsg_type == answerType && matches(message);
            }
        }
    }

    private static NetlinkException Refused(string what, int errno) => new($"{what}: the kernel answered errno {errno}");

    /// <summary><c>struct nfgenmsg</c> (<linux/netfilter/nfnetlink.h>): 4 bytes in front of every nfnetlink message.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private readonly struct NfGenMessage(byte family)
    {
        public readonly byte Family = family;
        public readonly byte Version;
        public readonly ushort ResourceId;
    }
}
