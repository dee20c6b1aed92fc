using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// A TCP server on root <c>127.0.0.1</c> that answers nothing: it records the first bytes a client
/// sends on each connection (up to <see cref="Recorded"/> bytes, waiting at most 2 s for them),
/// then closes it. What a client says first tells plaintext (an HTTP/2 preface, HTTP text) from a
/// TLS handshake (a record of type 22, version 3.x) without ever completing either.
/// </summary>
public sealed class FirstBytesRecorder : IAsyncDisposable
{
    public const int Recorded = 24;

    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<byte[]> _connections = new();
    private readonly Task _loop;

    public FirstBytesRecorder()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _loop = AcceptLoopAsync();
    }

    public int Port { get; }

    /// <summary>The first bytes of each connection so far, in the order accepted (empty: the client sent nothing in time).</summary>
    public IReadOnlyList<byte[]> Connections => [.. _connections];

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException && _stop.IsCancellationRequested)
            {
                return;
            }

            using (client)
            {
                _connections.Enqueue(await ReadFirstBytesAsync(client.GetStream()));
            }
        }
    }

    private async Task<byte[]> ReadFirstBytesAsync(NetworkStream stream)
    {
        var buffer = new byte[Recorded];
        var read = 0;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        limit.CancelAfter(ReadTimeout);
        try
        {
            while (read < buffer.Length)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(read), limit.Token);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // Whatever arrived before the client stopped sending or went away is what it said first.
        }

        return buffer[..read];
    }
}
