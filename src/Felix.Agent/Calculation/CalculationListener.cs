using Felix.Agent.Datastore;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Felix.Agent.Calculation;

/// <summary>
/// Feeds the <see cref="CalculationGraph"/> from the datastore and flushes it once per batch,
/// publishing its size and time as metrics, and hands each non-empty flush to the dataplane driver
/// (<paramref name="publish"/>, called on the datastore's thread: it must only enqueue).
/// </summary>
public sealed partial class CalculationListener : IDatastoreListener
{
    private readonly CalculationGraph _graph;
    private readonly ILogger<CalculationListener> _log;
    private readonly Gauge _localEndpoints;
    private readonly Gauge _localProfiles;
    private readonly Gauge _tags;
    private readonly Histogram _updateTime;
    private readonly Action<IReadOnlyList<DataplaneUpdate>> _publish;

    public CalculationListener(CalculationGraph graph, Action<IReadOnlyList<DataplaneUpdate>> publish, IMetricFactory metrics, ILogger<CalculationListener> log)
    {
        _graph = graph;
        _publish = publish;
        _log = log;
        _localEndpoints = metrics.CreateGauge("felix_active_local_endpoints", "Active workload endpoints on this host.");
        _localProfiles = metrics.CreateGauge("felix_active_local_profiles", "Profiles used by this host's endpoints.");
        _tags = metrics.CreateGauge("felix_active_local_tags", "Tags the rules of this host's profiles refer to (each one ipset per IP family).");
        _updateTime = metrics.CreateHistogram("felix_calc_graph_update_time_seconds",
            "Time the calculation took for one batch of datastore updates.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0001, 4, 10) });
    }

    public void OnUpdate(DatastoreUpdate update) => _graph.OnUpdate(update);

    public void OnBatchEnd()
    {
        var updates = _graph.Flush();
        _updateTime.Observe(_graph.LastBatchDuration.TotalSeconds);
        _localEndpoints.Set(_graph.ActiveLocalEndpoints);
        _localProfiles.Set(_graph.ActiveLocalProfiles);
        _tags.Set(_graph.ActiveTags);
        if (updates.Count > 0)
        {
            LogBatch(_log, updates.Count, _graph.LastBatchDuration.TotalMilliseconds);
            _publish(updates);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Calculation: {Count} dataplane updates in {Milliseconds:0.0} ms")]
    private static partial void LogBatch(ILogger logger, int count, double milliseconds);
}
