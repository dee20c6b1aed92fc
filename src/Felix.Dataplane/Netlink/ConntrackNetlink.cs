using System.Net;
using static Felix.Dataplane.Netlink.Interop.CtnetlinkConstants;
using static Felix.Dataplane.Netlink.Interop.NetlinkConstants;

namespace Felix.Dataplane.Netlink;

/// <summary>
/// Design: <see cref="IConntrackNetlink"/> over a <c>NETLINK_NETFILTER</c> socket of the process's
/// own network namespace. A flush lists the family's conntrack table once and deletes, by their
/// original tuple, the entries that name any of the flushed addresses, pipelined
/// <see cref="Window"/> to a datagram. Listing costs the kernel a walk of its whole conntrack hash
/// (262,144 buckets by default, ~14 ms whatever the namespace holds), which is why every address
/// of an apply shares one listing: the <c>conntrack</c> tool walks it once per address and
/// direction, four walks per removed workload. Entries created during the listing may be missed;
/// by then the address's route is gone, so such a flow has nowhere to go.
/// </summary>
public sealed class ConntrackNetlink : IConntrackNetlink
{
    /// <summary>Deletes per datagram: their acknowledgements (capped to the request's header) fit the receive buffer many times over.</summary>
    public const int Window = 256;

    private const int ReceiveBufferBytes = 1 << 20;
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(10);

    private readonly NetlinkSocket _socket;
    private readonly byte[] _send = new byte[Window * CtnetlinkMessages.MaxDeleteSize];
    private readonly byte[] _receive = new byte[256 * 1024];
    private uint _sequence;

    private ConntrackNetlink(NetlinkSocket socket)
    {
        _socket = socket;
        _sequence = (uint)Environment.TickCount;
    }

    /// <summary>Opens the socket in the calling thread's network namespace.</summary>
    /// <exception cref="NetlinkException">The socket could not be opened.</exception>
    public static ConntrackNetlink Open() => new(NetlinkSocket.Open(NETLINK_NETFILTER, 0, AnswerTimeout, ReceiveBufferBytes));

    public ConntrackDeletion DeleteFlows(IpVersion family, IReadOnlyCollection<IPAddress> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var wanted = new ConntrackAddressSet(family, addresses);
        if (wanted.Count == 0)
        {
            return new ConntrackDeletion(0, 0, null);
        }
        var entries = List(family, wanted);
        var (deleted, refused) = (0, 0);
        NetlinkError? first = null;
        for (var start = 0; start < entries.Count; start += Window)
        {
            var count = Math.Min(Window, entries.Count - start);
            var firstSequence = _sequence + 1;
            var writer = new NetlinkWriter(_send);
            for (var i = 0; i < count; i++)
            {
                CtnetlinkMessages.WriteDelete(ref writer, ++_sequence, family, entries[start + i]);
            }
            _socket.Send(writer.Written);
            NetlinkExchange.ReadAnswers(_socket, _receive, count, firstSequence, NLMSG_ERROR, "conntrack delete acknowledgements", (_, message) =>
            {
                var (errno, text) = RtnetlinkMessages.DecodeError(message);
                if (errno == 0)
                {
                    deleted++;
                }
                else if (errno != NetlinkError.NoSuchEntry)
                {
                    refused++;
                    first ??= new NetlinkError(errno, Errno.Name(errno), text);
                }
            });
        }
        return new ConntrackDeletion(deleted, refused, first);
    }

    public void Dispose() => _socket.Dispose();

    private List<ConntrackEntry> List(IpVersion family, ConntrackAddressSet wanted)
    {
        var entries = new List<ConntrackEntry>();
        var sequence = ++_sequence;
        var writer = new NetlinkWriter(_send);
        CtnetlinkMessages.WriteDump(ref writer, sequence, family);
        _socket.Send(writer.Written);
        try
        {
            // An interrupted listing is not listed again: conntrack entries come and go all the time, and a missed one has lost its route.
            NetlinkExchange.ReadDump(_socket, _receive, sequence, message =>
            {
                if (CtnetlinkMessages.Match(message, wanted) is { } entry)
                {
                    entries.Add(entry);
                }
            });
        }
        catch (MalformedNetlinkException e)
        {
            throw new NetlinkException($"the kernel's conntrack listing could not be read: {e.Message}", e);
        }
        return entries;
    }
}
