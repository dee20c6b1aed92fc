using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Felix.IntegrationTests.Fixtures.EndToEnd;

/// <summary>A connection a <see cref="Listener"/> accepted: the port and who connected, as the listener saw it.</summary>
public sealed record AcceptedConnection(int Port, IPAddress Source);

/// <summary>
/// TCP servers inside a namespace, without any external program: one listening socket per port,
/// created in the namespace, and an accept loop in the test process that accepts each connection
/// and closes it at once. What it records — which port, which source address — lets a test check
/// not only that a connection got through but that it arrived unchanged (no NAT between
/// workloads). Disposing closes the sockets and ends the loops.
/// </summary>
public sealed class Listener : IAsyncDisposable
{
    /// <summary>The ports the article's matrix probes: ssh, http, https, mysql, and an alternate http.</summary>
    public static readonly IReadOnlyList<int> ArticlePorts = [22, 80, 443, 3306, 8080];

    private readonly List<Socket> _sockets;
    private readonly ConcurrentQueue<AcceptedConnection> _accepted = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _loops;
    private int _disposed;

    private Listener(NetNs netns, IReadOnlyList<int> ports, List<Socket> sockets)
    {
        Namespace = netns;
        Ports = ports;
        _sockets = sockets;
        _loops = [.. sockets.Select((socket, i) => AcceptLoopAsync(socket, ports[i], _stop.Token))];
    }

    public NetNs Namespace { get; }

    public IReadOnlyList<int> Ports { get; }

    /// <summary>Every connection accepted so far, in the order accepted.</summary>
    public IReadOnlyList<AcceptedConnection> Accepted => [.. _accepted];

    /// <summary>
    /// Listens on <paramref name="ports"/> on all addresses (IPv4 and IPv6) of <paramref name="netns"/>.
    /// The sockets are listening when this returns, so a probe right after it finds them.
    /// </summary>
    public static Listener Start(NetNs netns, IEnumerable<int> ports)
    {
        ArgumentNullException.ThrowIfNull(netns);
        var portList = ports.Distinct().ToList();
        if (portList.Count == 0 || portList.Any(port => port is < 1 or > 65535))
        {
            throw new ArgumentException("Give at least one port, each 1-65535.", nameof(ports));
        }

        var sockets = new List<Socket>();
        try
        {
            foreach (var port in portList)
            {
                sockets.Add(NamespaceSockets.Listen(netns, port));
            }
        }
        catch
        {
            sockets.ForEach(socket => socket.Dispose());
            throw;
        }

        return new Listener(netns, portList, sockets);
    }

    /// <summary>Listens on <see cref="ArticlePorts"/> in the workload's namespace.</summary>
    public static Listener Start(ClusterWorkload workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        return Start(workload.Namespace, ArticlePorts);
    }

    /// <summary>How many connections from <paramref name="source"/> (any source when null) were accepted on <paramref name="port"/>.</summary>
    public int AcceptedCount(int port, IPAddress? source = null) =>
        _accepted.Count(c => c.Port == port && (source is null || c.Source.Equals(source)));

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        // Closing a listening socket is what wakes a pending accept on Linux, cancellation or not.
        _sockets.ForEach(socket => socket.Dispose());
        await Task.WhenAll(_loops);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync(Socket listening, int port, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await listening.AcceptAsync(stop);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException && stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                // A client that gave up before its connection was accepted; the next one may not.
                continue;
            }

            using (connection)
            {
                var remote = (IPEndPoint)connection.RemoteEndPoint!;
                var source = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
                _accepted.Enqueue(new AcceptedConnection(port, source));
            }
        }
    }
}
