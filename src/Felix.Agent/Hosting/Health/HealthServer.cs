using System.Net;
using Felix.Agent.Hosting.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Felix.Agent.Hosting.Health;

/// <summary>
/// Serves <c>/liveness</c> and <c>/readiness</c> on HealthHost:HealthPort. The answers are
/// <see cref="HealthEndpoints"/>' pure function of the request line; the listener is the agent's
/// <see cref="PlainHttpServer"/>, so that probers reach it by whatever name or address they use.
/// </summary>
public sealed partial class HealthServer : IHostedService, IDisposable
{
    private readonly PlainHttpServer _server;
    private readonly ILogger<HealthServer> _log;

    public HealthServer(HealthAggregator health, ILogger<HealthServer> log, string host, int port)
    {
        _server = new PlainHttpServer("health endpoints", host, port, "HealthHost, HealthPort",
            (request, _) => ValueTask.FromResult(Respond(health, request)), log);
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

    private static PlainHttpResponse Respond(HealthAggregator health, PlainHttpRequest request)
    {
        var response = HealthEndpoints.Respond(request.Method, request.Target, health.Snapshot);
        return PlainHttpResponse.Text(response.Status, response.Reason, response.Body);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Health endpoints listening on http://{Url} (/liveness, /readiness)")]
    private static partial void LogListening(ILogger logger, IPEndPoint url);
}
