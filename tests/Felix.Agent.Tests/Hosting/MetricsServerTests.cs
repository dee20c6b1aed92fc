using System.Net;
using System.Text;
using Felix.Agent.Hosting.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Felix.Agent.Tests.Hosting;

/// <summary>The metrics server over a real loopback socket, on a port the kernel picks.</summary>
public sealed class MetricsServerTests : IAsyncLifetime, IDisposable
{
    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private MetricsServer _server = null!;

    public async Task InitializeAsync()
    {
        Prometheus.Metrics.WithCustomRegistry(_registry)
            .CreateCounter("felix_test_scrapes_total", "A counter only the tests know.", "kind")
            .WithLabels("unit").Inc(3);
        _server = new MetricsServer(_registry, NullLogger<MetricsServer>.Instance, "127.0.0.1", 0);
        await _server.StartAsync(CancellationToken.None);
    }

    public Task DisposeAsync() => _server.StopAsync(CancellationToken.None);

    public void Dispose()
    {
        _server.Dispose();
        _http.Dispose();
    }

    private Uri Url(string target) => new($"http://{_server.LocalEndpoint}{target}");

    private Task<string> SendAsync(string request) => RawHttp.ExchangeAsync(_server.LocalEndpoint!, request);

    [Theory]
    [InlineData("/metrics")]
    [InlineData("/metrics?name[]=felix_test_scrapes_total")]
    public async Task Get_metrics_is_the_registry_in_the_prometheus_text_format(string target)
    {
        using var response = await _http.GetAsync(Url(target));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(MetricsServer.ContentType, response.Content.Headers.ContentType!.ToString());
        Assert.Equal(Encoding.UTF8.GetByteCount(body), response.Content.Headers.ContentLength);
        Assert.Contains("# TYPE felix_test_scrapes_total counter\n", body, StringComparison.Ordinal);
        Assert.Contains("\nfelix_test_scrapes_total{kind=\"unit\"} 3\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Any_host_header_is_answered_and_head_has_no_body()
    {
        var response = await SendAsync("HEAD /metrics HTTP/1.1\r\nHost: node1.example:9091\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.Contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n", response, StringComparison.Ordinal);
        Assert.DoesNotContain("\r\nContent-Length: 0\r\n", response, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", response, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/metrics/")]
    [InlineData("/metricsx")]
    [InlineData("/liveness")]
    public async Task Other_paths_are_404(string target)
    {
        using var response = await _http.GetAsync(Url(target));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Post_is_405()
    {
        using var content = new StringContent("");
        using var response = await _http.PostAsync(Url("/metrics"), content);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact]
    public async Task A_request_head_over_the_limit_is_refused_with_431()
    {
        var request = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Padding: " + new string('a', 9000) + "\r\n\r\n";

        var response = await SendAsync(request);

        Assert.StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n", response, StringComparison.Ordinal);
        Assert.DoesNotContain("felix_test_scrapes_total", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_scrapes_are_each_answered_in_full()
    {
        var scrapes = Enumerable.Range(0, 12).Select(_ => _http.GetStringAsync(Url("/metrics")));

        var bodies = await Task.WhenAll(scrapes);

        Assert.All(bodies, body => Assert.Contains("\nfelix_test_scrapes_total{kind=\"unit\"} 3\n", body, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_port_in_use_is_a_clear_start_up_error()
    {
        using var second = new MetricsServer(_registry, NullLogger<MetricsServer>.Instance, "127.0.0.1", _server.LocalEndpoint!.Port);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => second.StartAsync(CancellationToken.None));
        Assert.Contains("PrometheusMetricsHost, PrometheusMetricsPort", error.Message, StringComparison.Ordinal);
    }
}
