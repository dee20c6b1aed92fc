using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Felix.Agent.Tests.Hosting;

/// <summary>
/// One request written byte for byte (in the pieces given, each flushed) and the whole answer read
/// until the server closes: what a prober or a broken client sends, not what HttpClient would.
/// </summary>
internal static class RawHttp
{
    public static async Task<string> ExchangeAsync(IPEndPoint endpoint, params string[] pieces)
    {
        using var client = new TcpClient { NoDelay = true };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(endpoint, timeout.Token);
        var stream = client.GetStream();
        foreach (var piece in pieces)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(piece), timeout.Token);
            await stream.FlushAsync(timeout.Token);
        }
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync(timeout.Token);
    }
}
