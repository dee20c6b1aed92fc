using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Felix.Dataplane.Netlink;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>A datagram a <see cref="UdpReceiver"/> got: the port it arrived on and who sent it, as the socket saw it.</summary>
public sealed record ReceivedDatagram(int Port, IPAddress Source, int SourcePort, string Payload);

/// <summary>
/// UDP from and to test namespaces, made by the test process itself like
/// <see cref="NamespaceSockets"/>. UDP is how the tests see packets that could never complete a
/// TCP handshake — a spoofed source gets no answer whether or not it was let through — so they
/// look at the receiving end instead: what arrived, from which source address.
/// </summary>
public static class NamespaceUdp
{
    /// <summary>
    /// Sends <paramref name="payload"/> from inside <paramref name="netns"/> to <paramref name="remote"/>,
    /// from <paramref name="local"/> when given (an address of the namespace, and a fixed port such
    /// as DHCP's 68), else from whatever address and port the kernel picks.
    /// </summary>
    public static async Task SendAsync(NetNs netns, IPEndPoint? local, IPEndPoint remote, string payload)
    {
        ArgumentNullException.ThrowIfNull(netns);
        ArgumentNullException.ThrowIfNull(remote);
        using var socket = NetworkNamespace.Run(netns.Name, () => new Socket(remote.AddressFamily, SocketType.Dgram, ProtocolType.Udp));
        if (local is not null)
        {
            // Several senders in a row reuse a fixed source port (68, 546); no TIME_WAIT for UDP, but be explicit.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(local);
        }

        await socket.SendToAsync(System.Text.Encoding.UTF8.GetBytes(payload), SocketFlags.None, remote);
    }
}

/// <summary>
/// UDP sockets bound to ports on every address (IPv4 and IPv6) of a namespace, with a receive loop
/// per port in the test process that records every datagram. Disposing closes the sockets.
/// </summary>
public sealed class UdpReceiver : IAsyncDisposable
{
    private readonly List<Socket> _sockets;
    private readonly ConcurrentQueue<ReceivedDatagram> _received = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _loops;
    private int _disposed;

    private UdpReceiver(IReadOnlyList<int> ports, List<Socket> sockets)
    {
        _sockets = sockets;
        _loops = [.. sockets.Select((socket, i) => ReceiveLoopAsync(socket, ports[i], _stop.Token))];
    }

    public IReadOnlyList<ReceivedDatagram> Received => [.. _received];

    /// <summary>Binds one dual-mode socket on <c>[::]:port</c> per port in <paramref name="netns"/>; they receive when this returns.</summary>
    public static UdpReceiver Start(NetNs netns, IEnumerable<int> ports)
    {
        ArgumentNullException.ThrowIfNull(netns);
        var portList = ports.Distinct().ToList();
        var sockets = new List<Socket>();
        try
        {
            foreach (var port in portList)
            {
                sockets.Add(NetworkNamespace.Run(netns.Name, () =>
                {
                    var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true };
                    try
                    {
                        socket.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
                        return socket;
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                }));
            }
        }
        catch
        {
            sockets.ForEach(socket => socket.Dispose());
            throw;
        }

        return new UdpReceiver(portList, sockets);
    }

    /// <summary>Whether a datagram with exactly <paramref name="payload"/> has arrived.</summary>
    public bool Has(string payload) => _received.Any(d => d.Payload == payload);

    /// <summary>
    /// Waits (polling every 20 ms, at most <paramref name="timeout"/>) for a datagram with
    /// <paramref name="payload"/>; returns it, or null when none came.
    /// </summary>
    public async Task<ReceivedDatagram?> WaitForAsync(string payload, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var found = _received.FirstOrDefault(d => d.Payload == payload);
            if (found is not null || DateTime.UtcNow >= deadline)
            {
                return found;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        _sockets.ForEach(socket => socket.Dispose());
        await Task.WhenAll(_loops);
        _stop.Dispose();
    }

    private async Task ReceiveLoopAsync(Socket socket, int port, CancellationToken stop)
    {
        var buffer = new byte[2048];
        while (!stop.IsCancellationRequested)
        {
            SocketReceiveFromResult result;
            try
            {
                result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.IPv6Any, 0), stop);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException && stop.IsCancellationRequested)
            {
                return;
            }

            var remote = (IPEndPoint)result.RemoteEndPoint;
            var source = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
            _received.Enqueue(new ReceivedDatagram(port, source, remote.Port,
                System.Text.Encoding.UTF8.GetString(buffer, 0, result.ReceivedBytes)));
        }
    }
}
