using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Felix.Agent.Hosting.Health;

/// <summary>
/// Serves <c>/liveness</c> and <c>/readiness</c> on HealthHost:HealthPort. A plain TCP listener
/// rather than HttpListener: it binds exactly the configured address and answers whatever Host
/// header the prober sends (<c>localhost</c>, <c>127.0.0.1</c>, a kubelet's pod IP). Requests are
/// tiny and bounded: 8 KiB of headers, 5 s to send them, 16 connections at once.
/// </summary>
public sealed partial class HealthServer : IHostedService, IDisposable
{
    private const int MaxRequestBytes = 8192;
    private const int MaxConnections = 16;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly HealthAggregator _health;
    private readonly ILogger<HealthServer> _log;
    private readonly string _host;
    private readonly int _port;
    private readonly SemaphoreSlim _connections = new(MaxConnections);
    private readonly CancellationTokenSource _stopping = new();
    private TcpListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    public HealthServer(HealthAggregator health, ILogger<HealthServer> log, string host, int port)
    {
        _health = health;
        _log = log;
        _host = host;
        _port = port;
    }

    /// <summary>The bound endpoint (useful when the configured port was 0).</summary>
    public IPEndPoint? LocalEndpoint => _listener?.LocalEndpoint as IPEndPoint;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var address = await ResolveAsync(_host, cancellationToken);
        var listener = new TcpListener(address, _port);
        try
        {
            listener.Start();
        }
        catch (SocketException e)
        {
            throw new InvalidOperationException(
                $"cannot serve health endpoints on {_host}:{_port} (HealthHost, HealthPort): {e.Message}", e);
        }
        _listener = listener;
        _acceptLoop = AcceptLoopAsync(listener, _stopping.Token);
        LogListening(_log, LocalEndpoint!);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        _listener?.Stop();
        await _acceptLoop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose()
    {
        _listener?.Dispose();
        _stopping.Dispose();
        _connections.Dispose();
    }

    internal static async Task<IPAddress> ResolveAsync(string host, CancellationToken cancel)
    {
        if (IPAddress.TryParse(host, out var address))
        {
            return address;
        }
        var addresses = await Dns.GetHostAddressesAsync(host, cancel);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault()
            ?? throw new InvalidOperationException($"host name {host} has no addresses");
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
                LogAcceptFailed(_log, e.SocketErrorCode);
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
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
            timeout.CancelAfter(RequestTimeout);
            var head = await ReadHeadAsync(socket, timeout.Token);
            var response = head is null
                ? new HealthResponse(400, "Bad Request", "malformed request\n")
                : HealthEndpoints.Respond(head.Value.Method, head.Value.Target, _health.Snapshot);
            var sendBody = head?.Method != "HEAD";
            await socket.SendAsync(Encode(response, sendBody), SocketFlags.None, timeout.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A prober that hangs up or stalls costs nothing but its own request.
        }
        finally
        {
            socket.Dispose();
            _connections.Release();
        }
    }

    /// <summary>Reads up to the blank line ending the headers; returns the request line's parts.</summary>
    private static async Task<(string Method, string Target)?> ReadHeadAsync(Socket socket, CancellationToken cancel)
    {
        var buffer = new byte[MaxRequestBytes];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancel);
            if (read == 0)
            {
                break;
            }
            length += read;
            if (buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8) >= 0)
            {
                break;
            }
        }
        var text = Encoding.ASCII.GetString(buffer, 0, length);
        var lineEnd = text.IndexOf("\r\n", StringComparison.Ordinal);
        var parts = (lineEnd < 0 ? "" : text[..lineEnd]).Split(' ');
        return parts.Length == 3 && parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal) && parts[1].StartsWith('/')
            ? (parts[0], parts[1])
            : null;
    }

    private static byte[] Encode(HealthResponse response, bool withBody)
    {
        var body = Encoding.UTF8.GetBytes(response.Body);
        var head = $"HTTP/1.1 {response.Status} {response.Reason}\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            $"Content-Length: {body.Length}\r\n" +
            "Cache-Control: no-store\r\n" +
            "Connection: close\r\n\r\n";
        return withBody ? [.. Encoding.ASCII.GetBytes(head), .. body] : Encoding.ASCII.GetBytes(head);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Health endpoints listening on http://{Url} (/liveness, /readiness)")]
    private static partial void LogListening(ILogger logger, IPEndPoint url);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Health endpoint failed to accept a connection: {Error}")]
    private static partial void LogAcceptFailed(ILogger logger, SocketError error);
}
