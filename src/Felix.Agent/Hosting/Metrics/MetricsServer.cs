using System.Net;
using Felix.Agent.Hosting.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Felix.Agent.Hosting.Metrics;

/// <summary>
/// Serves <c>/metrics</c> on PrometheusMetricsHost:PrometheusMetricsPort in the Prometheus text
/// format, on the agent's <see cref="PlainHttpServer"/> rather than prometheus-net's MetricServer:
/// that one's HttpListener looks up the machine's own name at start, which lists every interface
/// (0.4–0.6 s on a host with 20k of them, before anything else in the agent starts), and answers
/// only the Host names its prefix spells. Each scrape is collected into memory before anything is
/// sent, so that the response carries its length and a collection that fails is a 500, not a
/// truncated body a scraper might half-ingest.
/// </summary>
public sealed partial class MetricsServer : IHostedService, IDisposable
{
    internal const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly PlainHttpServer _server;
    private readonly ILogger<MetricsServer> _log;

    public MetricsServer(CollectorRegistry registry, ILogger<MetricsServer> log, string host, int port)
    {
        _server = new PlainHttpServer("metrics", host, port, "PrometheusMetricsHost, PrometheusMetricsPort",
            (request, cancel) => RespondAsync(registry, request, cancel), log);
        _log = log;
    }

    /// <summary>The bound endpoint (useful when the configured port was 0).</summary>
    public IPEndPoint? LocalEndpoint => _server.LocalEndpoint;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _server.StartAsync(cancellationToken);
        LogListening(_log, LocalEndpoint!);
    }

    public Task StopAsync(CancellationToken cancellationToken) => _server.StopAsync(cancellationToken);

    public void Dispose() => _server.Dispose();

    private static async ValueTask<PlainHttpResponse> RespondAsync(
        CollectorRegistry registry, PlainHttpRequest request, CancellationToken cancel)
    {
        if (request.Method is not ("GET" or "HEAD"))
        {
            return PlainHttpResponse.Text(405, "Method Not Allowed", "only GET and HEAD are supported\n");
        }
        if (request.Path != "/metrics")
        {
            return PlainHttpResponse.Text(404, "Not Found", "not found: try /metrics\n");
        }
        var body = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(body, cancel);
        return new PlainHttpResponse(200, "OK", ContentType, body.GetBuffer().AsMemory(0, (int)body.Length));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Prometheus metrics listening on {Endpoint}")]
    private static partial void LogListening(ILogger logger, IPEndPoint endpoint);
}
