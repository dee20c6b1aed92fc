using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Felix.Agent.Hosting.Metrics;

/// <summary>
/// Serves <c>/metrics</c> with prometheus-net's stand-alone <see cref="MetricServer"/> (HttpListener,
/// no web framework). HttpListener matches the request's Host header against its prefix, so the
/// prefix must be what scrapers use: every address (<c>0.0.0.0</c>, <c>::</c>) becomes <c>+</c>, which
/// matches any Host; a specific address must be scraped by that address.
/// </summary>
public sealed partial class MetricsServer : IHostedService, IDisposable
{
    private readonly MetricServer _server;
    private readonly ILogger<MetricsServer> _log;
    private readonly string _url;

    public MetricsServer(CollectorRegistry registry, ILogger<MetricsServer> log, string host, int port)
    {
        var prefixHost = PrefixHost(host);
        _server = new MetricServer(prefixHost, port, "metrics/", registry);
        _url = $"http://{prefixHost}:{port}/metrics";
        _log = log;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _server.Start();
        }
        catch (HttpListenerException e)
        {
            throw new InvalidOperationException(
                $"cannot serve metrics on {_url} (PrometheusMetricsHost, PrometheusMetricsPort): {e.Message}", e);
        }
        LogListening(_log, _url);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => _server.StopAsync();

    public void Dispose() => _server.Dispose();

    /// <summary>The HttpListener prefix host for a configured listen address.</summary>
    public static string PrefixHost(string host) =>
        IPAddress.TryParse(host, out var address)
            ? address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? "+"
                : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]"
                : address.ToString()
            : host;

    [LoggerMessage(Level = LogLevel.Information, Message = "Prometheus metrics listening on {Url}")]
    private static partial void LogListening(ILogger logger, string url);
}
