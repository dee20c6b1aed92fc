using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Felix.Agent.Hosting.Http;

/// <summary>The request line of a request: all that the agent's endpoints look at.</summary>
public sealed record PlainHttpRequest(string Method, string Target)
{
    /// <summary>The target without its query.</summary>
    public string Path => Target.Split('?', 2)[0];
}

/// <summary>A whole response; the server adds its length and closes the connection after it.</summary>
public sealed record PlainHttpResponse(int Status, string Reason, string ContentType, ReadOnlyMemory<byte> Body)
{
    public static PlainHttpResponse Text(int status, string reason, string body) =>
        new(status, reason, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(body));
}

/// <summary>Answers one request; called concurrently, at most once per connection.</summary>
public delegate ValueTask<PlainHttpResponse> PlainHttpHandler(PlainHttpRequest request, CancellationToken cancel);

/// <summary>
/// The agent's HTTP endpoints (health, metrics) on a plain TCP listener rather than HttpListener or a
/// web framework. It binds exactly the configured address with no look-up of the machine's own name
/// (HttpListener's costs 0.4–0.6 s on a host with 20k interfaces, before anything else starts), and
/// answers whatever Host header a client sends (<c>localhost</c>, <c>127.0.0.1</c>, a kubelet's pod IP,
/// the node address a Prometheus scrapes). Its clients are probers and scrapers sending one GET every
/// few seconds, so it answers one request per connection and closes it: no keep-alive, chunking or
/// request bodies. Bounded so that a stalled or hostile client costs little: 8 KiB of request head,
/// 5 s for the whole exchange, 16 connections at once (further ones are closed unanswered).
/// </summary>
public sealed partial class PlainHttpServer : IDisposable
{
    internal const int MaxRequestBytes = 8192;
    internal const int MaxConnections = 16;
    private static readonly TimeSpan ExchangeTimeout = TimeSpan.FromSeconds(5);

    private static readonly PlainHttpResponse Malformed = PlainHttpResponse.Text(400, "Bad Request", "malformed request\n");
    private static readonly PlainHttpResponse TooLarge =
        PlainHttpResponse.Text(431, "Request Header Fields Too Large", "request head over 8 KiB\n");
    private static readonly PlainHttpResponse Failed = PlainHttpResponse.Text(500, "Internal Server Error", "internal error\n");

    private readonly string _name;
    private readonly string _host;
    private readonly int _port;
    private readonly string _parameters;
    private readonly PlainHttpHandler _handler;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _connections = new(MaxConnections);
    private readonly CancellationTokenSource _stopping = new();
    private TcpListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    /// <param name="name">What is served, for messages: "health endpoints", "metrics".</param>
    /// <param name="host">The configured address or host name; a name is resolved at start.</param>
    /// <param name="port">The configured port; 0 lets the kernel pick one.</param>
    /// <param name="parameters">The parameters host and port came from, named when binding fails.</param>
    /// <param name="handler">Answers each well-formed request.</param>
    /// <param name="log">The owner's logger, so that its messages carry the owner's name.</param>
    public PlainHttpServer(string name, string host, int port, string parameters, PlainHttpHandler handler, ILogger log)
    {
        _name = name;
        _host = host;
        _port = port;
        _parameters = parameters;
        _handler = handler;
        _log = log;
    }

    /// <summary>The bound endpoint (useful when the configured port was 0).</summary>
    public IPEndPoint? LocalEndpoint => _listener?.LocalEndpoint as IPEndPoint;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var shown = _host.Contains(':', StringComparison.Ordinal) ? $"[{_host}]:{_port}" : $"{_host}:{_port}";
        TcpListener listener;
        try
        {
            var address = await ResolveAsync(_host, cancellationToken) ?? throw new SocketException((int)SocketError.HostNotFound);
            listener = new TcpListener(address, _port);
            if (address.Equals(IPAddress.IPv6Any))
            {
                // "::" is every address, IPv4 ones too (as a Go or C server has it); .NET alone would
                // make the socket IPv6-only.
                listener.Server.DualMode = true;
            }
            listener.Start();
        }
        catch (SocketException e)
        {
            throw new InvalidOperationException($"cannot serve {_name} on {shown} ({_parameters}): {e.Message}", e);
        }
        _listener = listener;
        _acceptLoop = AcceptLoopAsync(listener, _stopping.Token);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }
        await _stopping.CancelAsync();
        _listener?.Stop();
        await _acceptLoop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        // Every slot back means no exchange is left running (the stop has cancelled each of them).
        for (var slot = 0; slot < MaxConnections && !cancellationToken.IsCancellationRequested; slot++)
        {
            await _connections.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public void Dispose()
    {
        _listener?.Dispose();
        _stopping.Dispose();
        _connections.Dispose();
    }

    /// <summary>A literal address as it is; a host name to its first IPv4 address, else its first.</summary>
    internal static async Task<IPAddress?> ResolveAsync(string host, CancellationToken cancel)
    {
        if (IPAddress.TryParse(host, out var address))
        {
            return address;
        }
        var addresses = await Dns.GetHostAddressesAsync(host, cancel);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault();
    }

    private async Task AcceptLoopAsync(TcpListener listener, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(stop);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                LogAcceptFailed(_log, _name, e.SocketErrorCode);
                continue;
            }
            if (!_connections.Wait(0, CancellationToken.None))
            {
                socket.Dispose();
                continue;
            }
            _ = ServeAsync(socket, stop);
        }
    }

    private async Task ServeAsync(Socket socket, CancellationToken stop)
    {
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop);
            deadline.CancelAfter(ExchangeTimeout);
            // The head and the body go out as two sends; Nagle would hold the second for an ACK.
            socket.NoDelay = true;
            var (request, refusal) = await ReadRequestAsync(socket, deadline.Token);
            var response = refusal ?? await AnswerAsync(request!, deadline.Token);
            await SendAsync(socket, Head(response), deadline.Token);
            if (request?.Method != "HEAD")
            {
                await SendAsync(socket, response.Body, deadline.Token);
            }
            // A FIN after the response, so that the client reads it to the end even if the close
            // below resets a connection with unread request bytes (an oversized head).
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A client that hangs up or stalls costs nothing but its own request.
        }
        finally
        {
            socket.Dispose();
            _connections.Release();
        }
    }

    private async ValueTask<PlainHttpResponse> AnswerAsync(PlainHttpRequest request, CancellationToken cancel)
    {
        try
        {
            return await _handler(request, cancel);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogHandlerFailed(_log, e, _name, request.Method, request.Target);
            return Failed;
        }
    }

    /// <summary>
    /// Reads up to the blank line ending the head; returns its request line, or the refusal to send
    /// instead. A client that closes its side before the blank line is still answered.
    /// </summary>
    private static async Task<(PlainHttpRequest? Request, PlainHttpResponse? Refusal)> ReadRequestAsync(
        Socket socket, CancellationToken cancel)
    {
        var buffer = new byte[MaxRequestBytes];
        var length = 0;
        var ended = false;
        while (!ended && length < buffer.Length)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancel);
            if (read == 0)
            {
                break;
            }
            var from = Math.Max(0, length - 3);
            length += read;
            ended = buffer.AsSpan(from, length - from).IndexOf("\r\n\r\n"u8) >= 0;
        }
        if (!ended && length == buffer.Length)
        {
            return (null, TooLarge);
        }
        var request = ParseRequestLine(buffer.AsSpan(0, length));
        return request is null ? (null, Malformed) : (request, null);
    }

    private static PlainHttpRequest? ParseRequestLine(ReadOnlySpan<byte> head)
    {
        var lineEnd = head.IndexOf("\r\n"u8);
        var parts = (lineEnd < 0 ? "" : Encoding.ASCII.GetString(head[..lineEnd])).Split(' ');
        return parts.Length == 3 && parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal) && parts[1].StartsWith('/')
            ? new PlainHttpRequest(parts[0], parts[1])
            : null;
    }

    private static byte[] Head(PlainHttpResponse response) => Encoding.ASCII.GetBytes(
        $"HTTP/1.1 {response.Status} {response.Reason}\r\n" +
        $"Content-Type: {response.ContentType}\r\n" +
        $"Content-Length: {response.Body.Length}\r\n" +
        "Cache-Control: no-store\r\n" +
        "Connection: close\r\n\r\n");

    private static async Task SendAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancel)
    {
        while (!data.IsEmpty)
        {
            data = data[await socket.SendAsync(data, SocketFlags.None, cancel)..];
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to accept a connection for the {Name}: {Error}")]
    private static partial void LogAcceptFailed(ILogger logger, string name, SocketError error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to answer {Method} {Target} ({Name}); sent 500")]
    private static partial void LogHandlerFailed(ILogger logger, Exception error, string name, string method, string target);
}
