using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Felix.Dataplane.Netlink;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// Joins the loopback of one network namespace with the root namespace's loopback by forwarding
/// TCP in the test process, with no veth and no route: a socket keeps the namespace it was created
/// in, so the sockets of the namespace's side are created on a thread inside it
/// (<see cref="NetworkNamespace.Run{T}"/>) and the root side's normally. This is how an agent in
/// its own namespace reaches a test etcd on root 127.0.0.1, and how a test on root 127.0.0.1
/// reaches the agent's health and metrics ports, without the agent (or the test) ever changing
/// the root namespace. Each forward copies bytes both ways, passes a half-close on, and ends a
/// connection when both directions have ended or either fails. Resources are bounded: at most
/// <c>maxConnectionsPerForward</c> connections per forward (more are reset at once) and one
/// buffer per direction. Disposing closes every listener and connection.
/// </summary>
public sealed class LoopbackBridge : IAsyncDisposable
{
    public const int DefaultMaxConnectionsPerForward = 32;

    private const int BufferSize = 16 * 1024;
    private const int Backlog = 64;

    // Loopback connects either succeed or are refused at once; the bound only matters when the
    // target's backlog is full and the kernel drops the SYN, which would otherwise hang the client.
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly int _maxConnectionsPerForward;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<Socket> _listeners = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly Dictionary<object, Task> _connections = [];
    private bool _disposed;

    public LoopbackBridge(NetNs netns, int maxConnectionsPerForward = DefaultMaxConnectionsPerForward)
    {
        ArgumentNullException.ThrowIfNull(netns);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConnectionsPerForward, 1);
        Namespace = netns.Name;
        _maxConnectionsPerForward = maxConnectionsPerForward;
    }

    /// <summary>The namespace whose loopback this bridge joins with the root's.</summary>
    public string Namespace { get; }

    /// <summary>Connections being forwarded right now, over all forwards.</summary>
    public int OpenConnections
    {
        get
        {
            lock (_gate)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>The namespace's 127.0.0.1:<paramref name="port"/> leads to root 127.0.0.1:<paramref name="port"/>.</summary>
    public int ShareRootPort(int port) => ShareRootPort(port, port);

    /// <summary>
    /// Listens on 127.0.0.1:<paramref name="insidePort"/> inside the namespace (0: a free port) and
    /// forwards each connection to root 127.0.0.1:<paramref name="rootPort"/>. Returns the port listened on.
    /// </summary>
    public int ShareRootPort(int rootPort, int insidePort)
    {
        CheckPorts(target: rootPort, listen: insidePort);
        return StartForward(NetworkNamespace.Run(Namespace, () => Listen(insidePort)), Socket, rootPort);
    }

    /// <summary>Root 127.0.0.1:<paramref name="port"/> leads to the namespace's 127.0.0.1:<paramref name="port"/>.</summary>
    public int ShareNamespacePort(int port) => ShareNamespacePort(port, port);

    /// <summary>
    /// Listens on root 127.0.0.1:<paramref name="rootPort"/> (0: a free port) and forwards each
    /// connection to 127.0.0.1:<paramref name="insidePort"/> inside the namespace. Returns the port listened on.
    /// </summary>
    public int ShareNamespacePort(int insidePort, int rootPort)
    {
        CheckPorts(target: insidePort, listen: rootPort);
        return StartForward(Listen(rootPort), () => NetworkNamespace.Run(Namespace, Socket), insidePort);
    }

    public async ValueTask DisposeAsync()
    {
        Task[] loops;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            loops = [.. _acceptLoops];
        }

        // Cancelling ends every pending accept, connect, receive and send; each connection then
        // closes its own two sockets.
        await _stop.CancelAsync();
        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }
        await Task.WhenAll(loops.Select(loop => loop.ContinueWith(_ => { }, TaskScheduler.Default)));
        Task[] connections;
        lock (_gate)
        {
            connections = [.. _connections.Values];
        }
        await Task.WhenAll(connections);
        _stop.Dispose();

        var failures = loops.Where(loop => loop.IsFaulted).Select(loop => loop.Exception!.GetBaseException()).ToList();
        if (failures.Count > 0)
        {
            throw new AggregateException($"a forward of the loopback bridge into {Namespace} stopped accepting", failures);
        }
    }

    private void CheckPorts(int target, int listen)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(target, IPEndPoint.MinPort + 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(target, IPEndPoint.MaxPort);
        ArgumentOutOfRangeException.ThrowIfLessThan(listen, IPEndPoint.MinPort);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(listen, IPEndPoint.MaxPort);
    }

    private static Socket Socket() => new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

    private static Socket Listen(int port)
    {
        var listener = Socket();
        try
        {
            // A port reused right after an earlier listener on it closed is still in TIME_WAIT.
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
            listener.Listen(Backlog);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    private int StartForward(Socket listener, Func<Socket> createTargetSocket, int targetPort)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                listener.Dispose();
                throw new ObjectDisposedException(nameof(LoopbackBridge));
            }
            _listeners.Add(listener);
            _acceptLoops.Add(Task.Run(() => AcceptAsync(listener, createTargetSocket, new IPEndPoint(IPAddress.Loopback, targetPort))));
        }
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    private async Task AcceptAsync(Socket listener, Func<Socket> createTargetSocket, IPEndPoint target)
    {
        var open = 0;
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (_stop.IsCancellationRequested && e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                // The client gave up before it was accepted: nothing to forward.
                continue;
            }

            if (Interlocked.Increment(ref open) > _maxConnectionsPerForward)
            {
                Interlocked.Decrement(ref open);
                Reset(accepted);
                continue;
            }
            // Registered under the lock its own removal takes, so it is never removed before it is added.
            var key = new object();
            lock (_gate)
            {
                _connections[key] = Task.Run(async () =>
                {
                    try
                    {
                        await ForwardAsync(accepted, createTargetSocket, target);
                    }
                    finally
                    {
                        lock (_gate)
                        {
                            _connections.Remove(key);
                        }
                        Interlocked.Decrement(ref open);
                    }
                });
            }
        }
    }

    private async Task ForwardAsync(Socket accepted, Func<Socket> createTargetSocket, IPEndPoint target)
    {
        Socket connected;
        try
        {
            connected = createTargetSocket();
        }
        catch (NetlinkException)
        {
            // The namespace is gone (deleted under a live bridge): nothing to connect to.
            Reset(accepted);
            return;
        }
        try
        {
            using (var limit = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
            {
                limit.CancelAfter(ConnectTimeout);
                await connected.ConnectAsync(target, limit.Token);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            // Nothing listens there (yet): a reset tells the client what a refused connect would.
            Reset(accepted);
            connected.Dispose();
            return;
        }

        using var broken = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var clean = await Task.WhenAll(CopyAsync(accepted, connected, broken), CopyAsync(connected, accepted, broken));
        if (clean.All(ended => ended))
        {
            accepted.Dispose();
            connected.Dispose();
        }
        else
        {
            Reset(accepted);
            Reset(connected);
        }
    }

    /// <summary>
    /// Copies until <paramref name="from"/> sends FIN, which is passed on as a shutdown of
    /// <paramref name="to"/>'s sending side (the other direction may still have data to deliver).
    /// Returns false when either socket failed or the bridge stopped; <paramref name="broken"/> is
    /// then cancelled so the other direction ends too.
    /// </summary>
    private static async Task<bool> CopyAsync(Socket from, Socket to, CancellationTokenSource broken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer.AsMemory(0, BufferSize), SocketFlags.None, broken.Token);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return true;
                }
                for (var sent = 0; sent < read;)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None, broken.Token);
                }
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            await broken.CancelAsync();
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // Closing with a zero linger sends RST instead of FIN: the peer learns at once that the
    // connection failed rather than seeing what looks like a clean end of the stream.
    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
            // Already reset by the peer: a plain close is all that is left to do.
        }
        socket.Dispose();
    }
}
