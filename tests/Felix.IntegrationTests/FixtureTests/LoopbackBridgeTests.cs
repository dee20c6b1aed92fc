using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Felix.Dataplane.Netlink;
using Felix.IntegrationTests.Datastore;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.FixtureTests;

/// <summary>
/// The loopback bridge against a small echo server on either side: bytes arrive intact both ways,
/// a half-close is passed on, a dead target and a connection over the limit are reset, and
/// disposing leaves nothing listening or connected. Each test owns its namespace (own prefix).
/// </summary>
public sealed class LoopbackBridgeTests
{
    // Bounds every receive and every wait, so a broken bridge fails a test instead of hanging it.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_root_port_is_reached_from_inside_the_namespace_at_the_same_port_over_loopback_alone()
    {
        await using var network = new NetworkNamespaces();
        var netns = await network.CreateNamespaceAsync("bridge");
        await using var echo = EchoServer.Start(Listen);
        await using var bridge = new LoopbackBridge(netns);
        var refused = await Assert.ThrowsAsync<SocketException>(() => ConnectAsync(InsideSocket(netns), echo.Port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        Assert.Equal(echo.Port, bridge.ShareRootPort(echo.Port));

        using var client = await ConnectAsync(InsideSocket(netns), echo.Port);
        var payload = RandomNumberGenerator.GetBytes(1 << 20);
        Assert.Equal(payload, await EchoAsync(client, payload));
        var links = await netns.IpCheckedAsync("-o", "link", "show");
        Assert.Equal("lo", Assert.Single(links.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Split(':')[1].Trim());
    }

    [Fact]
    public async Task A_namespace_port_is_reached_from_root_at_the_same_port()
    {
        await using var network = new NetworkNamespaces();
        var netns = await network.CreateNamespaceAsync("bridge");
        var port = LoopbackPorts.PickTwo().First;
        await using var echo = EchoServer.Start(() => NetworkNamespace.Run(netns.Name, () => Listen(port)));
        await using var bridge = new LoopbackBridge(netns);
        var refused = await Assert.ThrowsAsync<SocketException>(() => ConnectAsync(RootSocket(), port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        Assert.Equal(port, bridge.ShareNamespacePort(port));

        using var client = await ConnectAsync(RootSocket(), port);
        var payload = RandomNumberGenerator.GetBytes(1 << 20);
        Assert.Equal(payload, await EchoAsync(client, payload));
    }

    [Fact]
    public async Task Each_side_may_use_its_own_port_and_zero_picks_a_free_one()
    {
        await using var network = new NetworkNamespaces();
        var netns = await network.CreateNamespaceAsync("bridge");
        await using var rootEcho = EchoServer.Start(Listen);
        await using var insideEcho = EchoServer.Start(() => NetworkNamespace.Run(netns.Name, () => Listen(0)));
        await using var bridge = new LoopbackBridge(netns);

        var inside = bridge.ShareRootPort(rootEcho.Port, insidePort: 0);
        var root = bridge.ShareNamespacePort(insideEcho.Port, rootPort: 0);

        using var fromInside = await ConnectAsync(InsideSocket(netns), inside);
        using var fromRoot = await ConnectAsync(RootSocket(), root);
        Assert.Equal("in"u8.ToArray(), await EchoAsync(fromInside, "in"u8.ToArray()));
        Assert.Equal("out"u8.ToArray(), await EchoAsync(fromRoot, "out"u8.ToArray()));
        Assert.Equal(1, rootEcho.Accepted);
        Assert.Equal(1, insideEcho.Accepted);
    }

    [Fact]
    public async Task Nothing_listening_behind_the_bridge_resets_the_connection()
    {
        await using var network = new NetworkNamespaces();
        var netns = await network.CreateNamespaceAsync("bridge");
        var deadPort = LoopbackPorts.PickTwo().First;
        await using var bridge = new LoopbackBridge(netns);
        bridge.ShareRootPort(deadPort);

        Assert.True(await IsResetAsync(InsideSocket(netns), deadPort));
        Assert.True(await SyncHarness.EventuallyAsync(() => bridge.OpenConnections == 0, Bound));
    }

    [Fact]
    public async Task Connections_beyond_the_limit_are_reset_and_a_freed_slot_is_used_again()
    {
        await using var network = new NetworkNamespaces();
        var netns = await network.CreateNamespaceAsync("bridge");
        await using var echo = EchoServer.Start(Listen);
        await using var bridge = new LoopbackBridge(netns, maxConnectionsPerForward: 2);
        bridge.ShareRootPort(echo.Port);
        using var first = await ConnectAsync(InsideSocket(netns), echo.Port);
        using var second = await ConnectAsync(InsideSocket(netns), echo.Port);
        await RoundTripAsync(first);
        await RoundTripAsync(second);

        Assert.True(await IsResetAsync(InsideSocket(netns), echo.Port));
        Assert.Equal(2, bridge.OpenConnections);
        await RoundTripAsync(first);
        first.Shutdown(SocketShutdown.Send);
        Assert.True(await EndedAsync(first));
        Assert.True(await SyncHarness.EventuallyAsync(() => bridge.OpenConnections == 1, Bound));
        using var fourth = await ConnectAsync(InsideSocket(netns), echo.Port);
        await RoundTripAsync(fourth);
        Assert.Equal(3, echo.Accepted);
    }

    [Fact]
    public async Task Disposing_closes_the_listeners_and_every_connection()
    {
        await using var network = new NetworkNamespaces();
        var netns = await network.CreateNamespaceAsync("bridge");
        await using var echo = EchoServer.Start(Listen);
        await using var bridge = new LoopbackBridge(netns);
        bridge.ShareRootPort(echo.Port);
        var outward = bridge.ShareNamespacePort(LoopbackPorts.PickTwo().First);
        using var client = await ConnectAsync(InsideSocket(netns), echo.Port);
        await RoundTripAsync(client);
        Assert.Equal(1, bridge.OpenConnections);

        await bridge.DisposeAsync();

        Assert.Equal(0, bridge.OpenConnections);
        Assert.True(await EndedAsync(client));
        Assert.True(await SyncHarness.EventuallyAsync(() => echo.Open == 0, Bound));
        var inside = await Assert.ThrowsAsync<SocketException>(() => ConnectAsync(InsideSocket(netns), echo.Port));
        var root = await Assert.ThrowsAsync<SocketException>(() => ConnectAsync(RootSocket(), outward));
        Assert.Equal(SocketError.ConnectionRefused, inside.SocketErrorCode);
        Assert.Equal(SocketError.ConnectionRefused, root.SocketErrorCode);
        await bridge.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => bridge.ShareRootPort(echo.Port));
    }

    private static Socket RootSocket() => new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    private static Socket InsideSocket(NetNs netns) => NetworkNamespace.Run(netns.Name, RootSocket);

    private static Socket Listen() => Listen(0);

    private static Socket Listen(int port)
    {
        var listener = RootSocket();
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen();
        return listener;
    }

    private static async Task<Socket> ConnectAsync(Socket socket, int port)
    {
        try
        {
            using var limit = new CancellationTokenSource(Bound);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), limit.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task RoundTripAsync(Socket client)
    {
        using var limit = new CancellationTokenSource(Bound);
        await client.SendAsync("ping"u8.ToArray(), SocketFlags.None, limit.Token);
        var reply = new byte[4];
        for (var read = 0; read < reply.Length;)
        {
            var n = await client.ReceiveAsync(reply.AsMemory(read), SocketFlags.None, limit.Token);
            Assert.NotEqual(0, n);
            read += n;
        }
        Assert.Equal("ping"u8.ToArray(), reply);
    }

    /// <summary>Sends everything, then a FIN, while reading the reply until the other side's FIN.</summary>
    private static async Task<byte[]> EchoAsync(Socket client, byte[] payload)
    {
        using var limit = new CancellationTokenSource(Bound);
        var send = Task.Run(async () =>
        {
            await client.SendAsync(payload, SocketFlags.None, limit.Token);
            client.Shutdown(SocketShutdown.Send);
        });
        using var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await client.ReceiveAsync(buffer, SocketFlags.None, limit.Token)) > 0)
        {
            received.Write(buffer, 0, n);
        }
        await send;
        return received.ToArray();
    }

    /// <summary>
    /// True when a connection to <paramref name="port"/> is accepted and then reset. The reset may
    /// come so soon that the connect itself reports it, before the socket is ever writable.
    /// </summary>
    private static async Task<bool> IsResetAsync(Socket socket, int port)
    {
        try
        {
            using var client = await ConnectAsync(socket, port);
            return await EndedAsync(client);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
    }

    /// <summary>True once the peer closed (FIN or RST) without sending anything more, within the bound.</summary>
    private static async Task<bool> EndedAsync(Socket client)
    {
        using var limit = new CancellationTokenSource(Bound);
        try
        {
            return await client.ReceiveAsync(new byte[1], SocketFlags.None, limit.Token) == 0;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
    }

    /// <summary>Echoes each connection until its FIN, then closes it; the listener decides the namespace.</summary>
    private sealed class EchoServer : IAsyncDisposable
    {
        private readonly Socket _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly List<Task> _connections = [];
        private int _accepted;
        private int _open;

        private EchoServer(Socket listener)
        {
            _listener = listener;
            _loop = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

        public int Accepted => Volatile.Read(ref _accepted);

        public int Open => Volatile.Read(ref _open);

        public static EchoServer Start(Func<Socket> listen) => new(listen());

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Dispose();
            await _loop;
            await Task.WhenAll(_connections);
            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    var socket = await _listener.AcceptAsync(_stop.Token);
                    Interlocked.Increment(ref _accepted);
                    Interlocked.Increment(ref _open);
                    _connections.Add(Task.Run(() => EchoAsync(socket)));
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    return;
                }
            }
        }

        private async Task EchoAsync(Socket socket)
        {
            using (socket)
            {
                var buffer = new byte[16 * 1024];
                try
                {
                    int n;
                    while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
                    {
                        await socket.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
                    }
                    socket.Shutdown(SocketShutdown.Send);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException)
                {
                    // The client or the test went away: the connection just ends.
                }
                finally
                {
                    Interlocked.Decrement(ref _open);
                }
            }
        }
    }
}
