using System.Net;
using System.Net.Sockets;
using Felix.Dataplane.Netlink;
using Grpc.Net.Client;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// TCP sockets and HTTP clients whose connections belong to a test namespace, made by the test
/// process itself. A socket is bound to the network namespace of the thread that creates it, for
/// its whole life, so only the creation runs on a thread that joined the namespace
/// (<see cref="NetworkNamespace.Run"/>); connecting, accepting and reading happen on any thread.
/// This is how the end-to-end tests talk to workloads, hosts and etcd without starting a program
/// per connection, and without ever sending a packet from the root namespace.
/// </summary>
public static class NamespaceSockets
{
    /// <summary>A new, unconnected TCP socket of <paramref name="family"/> inside <paramref name="netns"/>.</summary>
    public static Socket CreateTcp(NetNs netns, AddressFamily family)
    {
        ArgumentNullException.ThrowIfNull(netns);
        return NetworkNamespace.Run(netns.Name, () => new Socket(family, SocketType.Stream, ProtocolType.Tcp));
    }

    /// <summary>
    /// A socket listening on <paramref name="port"/> on every address of <paramref name="netns"/>,
    /// IPv4 and IPv6 alike (one dual-mode socket on <c>[::]</c>).
    /// </summary>
    public static Socket Listen(NetNs netns, int port, int backlog = 128)
    {
        ArgumentNullException.ThrowIfNull(netns);
        return NetworkNamespace.Run(netns.Name, () =>
        {
            var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true };
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
                socket.Listen(backlog);
                return socket;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        });
    }

    /// <summary>
    /// Connects from inside <paramref name="netns"/> to <paramref name="remote"/>. Throws
    /// <see cref="SocketException"/> for a refusal or an ICMP error, and
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires first
    /// (a dropped SYN is only ever noticed that way).
    /// </summary>
    public static async Task<Socket> ConnectAsync(NetNs netns, IPEndPoint remote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(remote);
        var socket = CreateTcp(netns, remote.AddressFamily);
        try
        {
            await socket.ConnectAsync(remote, cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An HTTP handler (plain HTTP/1.1 and h2c, so gRPC too) whose every connection is made from
    /// inside <paramref name="netns"/>, whatever host the URL names. Host names are not resolved
    /// there: URLs must name IP addresses.
    /// </summary>
    public static SocketsHttpHandler CreateHttpHandler(NetNs netns)
    {
        ArgumentNullException.ThrowIfNull(netns);
        return new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            ConnectCallback = async (context, cancellationToken) =>
            {
                var address = IPAddress.Parse(context.DnsEndPoint.Host.Trim('[', ']'));
                var socket = await ConnectAsync(netns, new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                socket.NoDelay = true;
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
    }

    /// <summary>
    /// A plaintext gRPC channel to <paramref name="url"/> over <see cref="CreateHttpHandler"/>; the
    /// caller disposes it. For an etcd client, <c>new EtcdClient(channel.CreateCallInvoker())</c>:
    /// the client's own channel factory turns on gRPC load balancing, which refuses a handler with
    /// a connect callback.
    /// </summary>
    public static GrpcChannel CreateGrpcChannel(NetNs netns, string url) =>
        GrpcChannel.ForAddress(url, new GrpcChannelOptions { HttpHandler = CreateHttpHandler(netns), DisposeHttpClient = true });

    /// <summary>An <see cref="HttpClient"/> over <see cref="CreateHttpHandler"/>; the caller disposes it.</summary>
    public static HttpClient CreateHttpClient(NetNs netns, TimeSpan timeout) =>
        new(CreateHttpHandler(netns), disposeHandler: true) { Timeout = timeout };
}
