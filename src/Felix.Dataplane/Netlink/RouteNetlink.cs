using System.Net;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Felix.Dataplane.Netlink.Interop;
using static Felix.Dataplane.Netlink.Interop.NetlinkConstants;

namespace Felix.Dataplane.Netlink;

/// <summary>
/// Design: <see cref="IRouteNetlink"/> over a <c>NETLINK_ROUTE</c> socket of the process's own
/// network namespace. Requests are pipelined: up to <see cref="Window"/> of them go to the kernel
/// in one datagram (rtnetlink handles each message of a datagram in turn, in the sender's call),
/// then their acknowledgements are read back and matched by sequence number — so 10k routes cost
/// 10k/<see cref="Window"/> system-call pairs, not 10k. The window also bounds how many acks can
/// queue at once, which keeps them inside the socket's receive buffer. Lookups (of a link by name or
/// index, of the route to an address) are pipelined the same way, <see cref="LookupWindow"/> at a
/// time, as their answers are larger. Dumps are read until
/// <c>NLMSG_DONE</c> and started again if the kernel flags them interrupted
/// (<c>NLM_F_DUMP_INTR</c>: the table changed while it was being dumped). Link events come from a
/// second socket, subscribed to <c>RTMGRP_LINK</c>, read on a thread of their own.
/// </summary>
public sealed class RouteNetlink : IRouteNetlink
{
    /// <summary>Requests per datagram: 256 acks of about 1 KiB of buffer each fit the 1 MiB receive buffer.</summary>
    public const int Window = 256;

    /// <summary>Lookups (of links, of routes) per datagram: each answer takes a few KiB of the receive buffer with its overhead.</summary>
    public const int LookupWindow = 64;

    private const int ReceiveBufferBytes = 1 << 20;
    private const int MaxDumpAttempts = 5;
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(10);

    private readonly NetlinkSocket _socket;
    private readonly NetlinkSocket _events;
    private readonly byte[] _send = new byte[Window * RtnetlinkMessages.MaxRequestSize];
    private readonly byte[] _receive = new byte[256 * 1024];
    private uint _sequence;

    private int _watching;

    private RouteNetlink(NetlinkSocket socket, NetlinkSocket events)
    {
        _socket = socket;
        _events = events;
        _sequence = (uint)Environment.TickCount;
    }

    /// <summary>
    /// Opens both sockets in the calling thread's network namespace — the event socket too, so that
    /// it is in the same namespace whoever watches it later, and it collects link events from now on.
    /// </summary>
    /// <exception cref="NetlinkException">A socket could not be opened.</exception>
    public static RouteNetlink Open()
    {
        var socket = NetlinkSocket.Open(NETLINK_ROUTE, 0, AnswerTimeout, ReceiveBufferBytes);
        try
        {
            return new RouteNetlink(socket, NetlinkSocket.Open(NETLINK_ROUTE, RTMGRP_LINK, TimeSpan.Zero, ReceiveBufferBytes));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public IReadOnlyList<LinkInfo> ListLinks()
    {
        var links = new List<LinkInfo>();
        Dump(
            (ref NetlinkWriter writer, uint sequence) => RtnetlinkMessages.WriteLinkDump(ref writer, sequence),
            (NetlinkMessage message) => message.Header.nlmsg_type == RTM_NEWLINK ? RtnetlinkMessages.DecodeLink(message) : null,
            links,
            null);
        return links;
    }

    public IReadOnlyList<RouteSpec> ListRoutes(IpVersion family, byte protocol)
    {
        var routes = new List<RouteSpec>();
        Dump(
            (ref NetlinkWriter writer, uint sequence) => RtnetlinkMessages.WriteRouteDump(ref writer, sequence, family, protocol),
            (NetlinkMessage message) => message.Header.nlmsg_type == RTM_NEWROUTE && RtnetlinkMessages.ReadRoute(message, out var route)
                && route.Protocol == protocol ? route.ToSpec() : null,
            routes,
            null);
        return routes;
    }

    public void ListRoutes(IpVersion family, byte protocol, IKnownRoutes known, List<RouteSpec> others)
    {
        ArgumentNullException.ThrowIfNull(known);
        ArgumentNullException.ThrowIfNull(others);
        Dump(
            (ref NetlinkWriter writer, uint sequence) => RtnetlinkMessages.WriteRouteDump(ref writer, sequence, family, protocol),
            (NetlinkMessage message) => message.Header.nlmsg_type == RTM_NEWROUTE && RtnetlinkMessages.ReadRoute(message, out var route)
                && route.Protocol == protocol && !known.Holds(route) ? route.ToSpec() : null,
            others,
            known.DumpStarting);
    }

    public IReadOnlyList<LinkInfo?> GetLinks(IReadOnlyList<LinkKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var results = new LinkInfo?[keys.Count];
        for (var start = 0; start < keys.Count; start += LookupWindow)
        {
            var count = Math.Min(LookupWindow, keys.Count - start);
            var first = _sequence + 1;
            var writer = new NetlinkWriter(_send);
            for (var i = 0; i < count; i++)
            {
                RtnetlinkMessages.WriteLinkGet(ref writer, ++_sequence, keys[start + i]);
            }
            _socket.Send(writer.Written);
            var offset = start;
            ReadAnswers(count, first, RTM_NEWLINK, "link lookups", (index, message) =>
            {
                if (message.Header.nlmsg_type == RTM_NEWLINK)
                {
                    results[offset + index] = RtnetlinkMessages.DecodeLink(message) ?? throw new MalformedNetlinkException("a link without a name");
                    return;
                }
                var (errno, text) = RtnetlinkMessages.DecodeError(message);
                if (errno != NetlinkError.NoSuchDevice)
                {
                    throw new NetlinkException($"looking up link {keys[offset + index]} refused: {new NetlinkError(errno, Errno.Name(errno), text)}");
                }
            });
        }
        return results;
    }

    public IReadOnlyList<int> GetRouteInterfaces(IReadOnlyList<IPAddress> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var results = new int[addresses.Count];
        for (var start = 0; start < addresses.Count; start += LookupWindow)
        {
            var count = Math.Min(LookupWindow, addresses.Count - start);
            var first = _sequence + 1;
            var writer = new NetlinkWriter(_send);
            for (var i = 0; i < count; i++)
            {
                RtnetlinkMessages.WriteRouteGet(ref writer, ++_sequence, addresses[start + i]);
            }
            _socket.Send(writer.Written);
            var offset = start;
            // An error (ENETUNREACH, or EHOSTUNREACH and the like for a reject route) means no link: 0.
            ReadAnswers(count, first, RTM_NEWROUTE, "route lookups", (index, message) =>
            {
                if (message.Header.nlmsg_type == RTM_NEWROUTE)
                {
                    results[offset + index] = RtnetlinkMessages.DecodeOutputInterface(message);
                }
            });
        }
        return results;
    }

    public IReadOnlyList<NetlinkError?> Execute(IReadOnlyList<NetlinkRequest> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var results = new NetlinkError?[requests.Count];
        for (var start = 0; start < requests.Count; start += Window)
        {
            var count = Math.Min(Window, requests.Count - start);
            var first = _sequence + 1;
            var writer = new NetlinkWriter(_send);
            for (var i = 0; i < count; i++)
            {
                RtnetlinkMessages.Write(ref writer, requests[start + i], ++_sequence);
            }
            _socket.Send(writer.Written);
            var offset = start;
            ReadAnswers(count, first, NLMSG_ERROR, "acknowledgements", (index, message) =>
            {
                var (errno, text) = RtnetlinkMessages.DecodeError(message);
                results[offset + index] = errno == 0 ? null : new NetlinkError(errno, Errno.Name(errno), text);
            });
        }
        return results;
    }

    public async IAsyncEnumerable<LinkEvent> WatchLinksAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _watching, 1) != 0)
        {
            throw new InvalidOperationException("link events are already being watched");
        }
        var events = Channel.CreateUnbounded<LinkEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        // Cancelled too when the caller stops enumerating early, so the reading thread ends with the watch.
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reader = Task.Factory.StartNew(() => ReadLinkEvents(_events, events.Writer, watch.Token), watch.Token,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            await foreach (var linkEvent in events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return linkEvent;
            }
        }
        finally
        {
            await watch.CancelAsync().ConfigureAwait(false);
            await reader.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            Volatile.Write(ref _watching, 0);
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        _events.Dispose();
    }

    private delegate void RequestWriter(ref NetlinkWriter writer, uint sequence);

    private delegate T? MessageDecoder<T>(NetlinkMessage message)
        where T : class;

    /// <summary>Dumps into <paramref name="items"/> (cleared at each attempt), <paramref name="starting"/> told of each attempt.</summary>
    private void Dump<T>(RequestWriter request, MessageDecoder<T> decode, List<T> items, Action? starting)
        where T : class
    {
        try
        {
            for (var attempt = 1; attempt <= MaxDumpAttempts; attempt++)
            {
                var sequence = ++_sequence;
                var writer = new NetlinkWriter(_send);
                request(ref writer, sequence);
                items.Clear();
                starting?.Invoke();
                _socket.Send(writer.Written);
                if (!ReadDump(sequence, decode, items))
                {
                    return;
                }
            }
        }
        catch (MalformedNetlinkException e)
        {
            throw new NetlinkException($"the kernel's answer to a dump could not be read: {e.Message}", e);
        }
        throw new NetlinkException($"the kernel interrupted the dump {MaxDumpAttempts} times (the table kept changing while it was read)");
    }

    /// <summary>Reads a dump's answer into <paramref name="items"/>; whether the kernel flagged it interrupted.</summary>
    private bool ReadDump<T>(uint sequence, MessageDecoder<T> decode, List<T> items)
        where T : class =>
        NetlinkExchange.ReadDump(_socket, _receive, sequence, message =>
        {
            if (decode(message) is { } item)
            {
                items.Add(item);
            }
        });

    private void ReadAnswers(int count, uint first, ushort answerType, string what, AnswerReader read) =>
        NetlinkExchange.ReadAnswers(_socket, _receive, count, first, answerType, what, read);

    private static void ReadLinkEvents(NetlinkSocket socket, ChannelWriter<LinkEvent> events, CancellationToken cancellationToken)
    {
        var buffer = new byte[256 * 1024];
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // Polled with a short timeout so a cancelled watch lets go of its thread promptly.
                if (!socket.WaitReadable(200))
                {
                    continue;
                }
                int length;
                try
                {
                    length = socket.Receive(buffer);
                }
                catch (NetlinkOverrunException)
                {
                    events.TryWrite(new LinkEventsLost());
                    continue;
                }
                var reader = new NetlinkReader(buffer.AsSpan(0, length));
                while (reader.TryRead(out var message))
                {
                    if (message.Header.nlmsg_type is RTM_NEWLINK or RTM_DELLINK && RtnetlinkMessages.DecodeLink(message) is { } link)
                    {
                        events.TryWrite(message.Header.nlmsg_type == RTM_NEWLINK ? new LinkUpdated(link) : new LinkDeleted(link.Index, link.Name));
                    }
                }
            }
            events.TryComplete();
        }
        catch (Exception e) when (e is NetlinkException or MalformedNetlinkException or ObjectDisposedException)
        {
            events.TryComplete(e);
        }
    }
}
