using Felix.Agent.Hosting.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Felix.Agent.Tests.Hosting;

/// <summary>What the health and metrics servers share, with handlers only the tests use.</summary>
public sealed class PlainHttpServerTests
{
    private static async Task<string> ExchangeAsync(PlainHttpHandler handler, params string[] pieces)
    {
        using var server = new PlainHttpServer("test endpoints", "127.0.0.1", 0, "TestHost, TestPort", handler, NullLogger.Instance);
        await server.StartAsync(CancellationToken.None);
        try
        {
            return await RawHttp.ExchangeAsync(server.LocalEndpoint!, pieces);
        }
        finally
        {
            await server.StopAsync(CancellationToken.None);
        }
    }

    private static ValueTask<PlainHttpResponse> Echo(PlainHttpRequest request, CancellationToken cancel) =>
        ValueTask.FromResult(PlainHttpResponse.Text(200, "OK", $"{request.Method} {request.Path}\n"));

    [Fact]
    public async Task A_head_sent_in_pieces_is_read_up_to_its_blank_line()
    {
        var response = await ExchangeAsync(Echo, "GET /pa", "th?q=1 HTTP/1.1\r\nHost: a\r", "\n\r", "\n");

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.Contains("\r\nContent-Length: 10\r\nCache-Control: no-store\r\nConnection: close\r\n", response, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nGET /path\n", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_handler_that_fails_is_a_500()
    {
        var response = await ExchangeAsync(
            (_, _) => throw new InvalidOperationException("collector broke"), "GET /metrics HTTP/1.1\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 500 Internal Server Error\r\n", response, StringComparison.Ordinal);
        Assert.DoesNotContain("collector broke", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_head_of_exactly_the_limit_is_answered()
    {
        var head = "GET / HTTP/1.1\r\nX-Padding: ";
        var padding = new string('a', PlainHttpServer.MaxRequestBytes - head.Length - 4);

        var response = await ExchangeAsync(Echo, head + padding + "\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_ipv6_wildcard_answers_ipv4_clients_too()
    {
        using var server = new PlainHttpServer("test endpoints", "::", 0, "TestHost, TestPort", Echo, NullLogger.Instance);
        await server.StartAsync(CancellationToken.None);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        var overIpv4 = await http.GetStringAsync(new Uri($"http://127.0.0.1:{server.LocalEndpoint!.Port}/v4"));
        var overIpv6 = await http.GetStringAsync(new Uri($"http://[::1]:{server.LocalEndpoint.Port}/v6"));

        Assert.Equal("GET /v4\n", overIpv4);
        Assert.Equal("GET /v6\n", overIpv6);
        await server.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_failure_to_bind_names_the_parameters()
    {
        using var first = new PlainHttpServer("test endpoints", "127.0.0.1", 0, "TestHost, TestPort", Echo, NullLogger.Instance);
        await first.StartAsync(CancellationToken.None);
        using var second = new PlainHttpServer(
            "test endpoints", "127.0.0.1", first.LocalEndpoint!.Port, "TestHost, TestPort", Echo, NullLogger.Instance);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => second.StartAsync(CancellationToken.None));

        Assert.StartsWith($"cannot serve test endpoints on 127.0.0.1:{first.LocalEndpoint.Port} (TestHost, TestPort): ", error.Message, StringComparison.Ordinal);
        await first.StopAsync(CancellationToken.None);
    }
}
