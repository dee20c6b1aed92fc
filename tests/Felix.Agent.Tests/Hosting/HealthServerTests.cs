using Felix.Agent.Hosting.Health;
using Microsoft.Extensions.Logging.Abstractions;

namespace Felix.Agent.Tests.Hosting;

/// <summary>The health server over a real loopback socket, on a port the kernel picks.</summary>
public sealed class HealthServerTests : IAsyncLifetime, IDisposable
{
    private readonly HealthAggregator _health = new(TimeProvider.System);
    private HealthServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = new HealthServer(_health, NullLogger<HealthServer>.Instance, "127.0.0.1", 0);
        await _server.StartAsync(CancellationToken.None);
    }

    public Task DisposeAsync() => _server.StopAsync(CancellationToken.None);

    public void Dispose() => _server.Dispose();

    private Task<string> SendAsync(string request) => RawHttp.ExchangeAsync(_server.LocalEndpoint!, request);

    [Fact]
    public async Task Readiness_is_503_until_ready_whatever_the_host_header()
    {
        var reporter = _health.Register("datastore", reportsReadiness: true);

        var notReady = await SendAsync("GET /readiness HTTP/1.1\r\nHost: localhost:9099\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 503 Service Unavailable\r\n", notReady, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nnot ready\ndatastore: live, not ready (starting)\n", notReady, StringComparison.Ordinal);

        reporter.Report(live: true, ready: true, "in sync");
        var ready = await SendAsync("GET /readiness HTTP/1.0\r\nHost: 10.1.2.3\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", ready, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Liveness_is_200_and_head_has_no_body()
    {
        var response = await SendAsync("HEAD /liveness HTTP/1.1\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", response, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("garbage\r\n\r\n")]
    [InlineData("GET\r\n\r\n")]
    [InlineData("GET readiness HTTP/1.1\r\n\r\n")]
    public async Task Malformed_requests_get_400(string request)
    {
        var response = await SendAsync(request);
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_in_use_is_a_clear_start_up_error()
    {
        using var second = new HealthServer(_health, NullLogger<HealthServer>.Instance, "127.0.0.1", _server.LocalEndpoint!.Port);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => second.StartAsync(CancellationToken.None));
        Assert.Contains("HealthPort", error.Message, StringComparison.Ordinal);
    }
}
