using System.Collections.Concurrent;
using Felix.Agent.Datastore.Etcd;
using Felix.Agent.Model;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Felix.Agent.Datastore;

/// <summary>The status an endpoint is reported with.</summary>
public enum EndpointStatus
{
    Up,
    Down,
    Error,
}

/// <summary>Where the dataplane reports, per endpoint, whether it programmed it (in etcd: <see cref="EndpointStatusReporter"/>).</summary>
public interface IEndpointStatusReporter
{
    void Report(WorkloadEndpointKey endpoint, EndpointStatus status);

    void Remove(WorkloadEndpointKey endpoint);
}

/// <summary>
/// Per-endpoint status in etcd (EndpointReportingEnabled): the dataplane calls <see cref="Report"/>
/// once it has programmed an endpoint and <see cref="Remove"/> when the endpoint goes. Calls only
/// record the latest wish per endpoint; a writer drains them at a bounded rate, so a burst of
/// churn costs etcd at most <see cref="WritesPerSecond"/> writes a second and a flapping endpoint
/// is written once with its final state. Failed writes stay queued and are retried.
/// </summary>
public sealed partial class EndpointStatusReporter : BackgroundService, IEndpointStatusReporter
{
    public const int WritesPerSecond = 50;

    private readonly IEtcdStore _store;
    private readonly ILogger<EndpointStatusReporter> _log;
    private readonly TimeProvider _clock;
    private readonly ConcurrentDictionary<WorkloadEndpointKey, EndpointStatus?> _pending = new();
    private readonly SemaphoreSlim _wake = new(0);

    public EndpointStatusReporter(IEtcdStore store, TimeProvider clock, ILogger<EndpointStatusReporter> log)
    {
        _store = store;
        _clock = clock;
        _log = log;
    }

    public static string StatusKey(WorkloadEndpointKey key) =>
        $"/calico/felix/v1/host/{key.Hostname}/workload/{key.OrchestratorId}/{key.WorkloadId}/endpoint/{key.EndpointId}";

    public void Report(WorkloadEndpointKey endpoint, EndpointStatus status) => Enqueue(endpoint, status);

    public void Remove(WorkloadEndpointKey endpoint) => Enqueue(endpoint, null);

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var spacing = TimeSpan.FromSeconds(1.0 / WritesPerSecond);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await _wake.WaitAsync(stoppingToken);
                while (TryTake(out var endpoint, out var status))
                {
                    var pause = spacing;
                    try
                    {
                        await WriteAsync(endpoint, status, stoppingToken);
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                    {
                        LogFailed(_log, StatusKey(endpoint), e.Message);
                        Requeue(endpoint, status);
                        pause = TimeSpan.FromSeconds(1);
                    }
                    await Task.Delay(pause, _clock, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping; what is still pending is written by the next agent's dataplane reports.
        }
    }

    private Task WriteAsync(WorkloadEndpointKey endpoint, EndpointStatus? status, CancellationToken cancel) =>
        status is { } s
            ? _store.PutAsync(StatusKey(endpoint), $$"""{"status":"{{s.ToString().ToLowerInvariant()}}"}""", 0, cancel)
            : _store.DeleteAsync(StatusKey(endpoint), cancel);

    private void Enqueue(WorkloadEndpointKey endpoint, EndpointStatus? status)
    {
        _pending[endpoint] = status;
        _wake.Release();
    }

    // A newer wish recorded while the failed write was in flight wins over the retry.
    private void Requeue(WorkloadEndpointKey endpoint, EndpointStatus? status)
    {
        _pending.TryAdd(endpoint, status);
    }

    private bool TryTake(out WorkloadEndpointKey endpoint, out EndpointStatus? status)
    {
        foreach (var key in _pending.Keys)
        {
            if (_pending.TryRemove(key, out status))
            {
                endpoint = key;
                return true;
            }
        }
        (endpoint, status) = (null!, null);
        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot write endpoint status {Key}, will retry: {Reason}")]
    private static partial void LogFailed(ILogger logger, string key, string reason);
}
