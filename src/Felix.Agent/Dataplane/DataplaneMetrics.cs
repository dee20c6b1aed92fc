using Prometheus;

namespace Felix.Agent.Dataplane;

/// <summary>The driver's own figures: how long applies take, how many failed, and what it was told.</summary>
public sealed class DataplaneMetrics
{
    public DataplaneMetrics(IMetricFactory metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ApplyTime = metrics.CreateHistogram("felix_int_dataplane_apply_time_seconds",
            "Time taken by one apply of the dataplane (ipsets, iptables, routes and interfaces together).",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
        Failures = metrics.CreateCounter("felix_int_dataplane_failures",
            "Applies of the dataplane in which some part (ipsets, iptables or routes) failed; it is read back and retried.");
        Messages = metrics.CreateCounter("felix_int_dataplane_messages",
            "Updates the dataplane driver received, by kind.", ["type"]);
    }

    internal Histogram ApplyTime { get; }

    internal Counter Failures { get; }

    internal Counter Messages { get; }
}
