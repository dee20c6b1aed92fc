using Prometheus;

namespace Felix.Dataplane.Ipsets;

/// <summary>The ipset metrics of DESIGN.md §5, plus a gauge of the sets left alone for being too large.</summary>
public sealed class IpsetMetrics
{
    public IpsetMetrics(IMetricFactory metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        Calls = metrics.CreateCounter("felix_ipset_calls", "ipset runs (restore and save).");
        Errors = metrics.CreateCounter("felix_ipset_errors", "ipset runs that failed.");
        SavesInterrupted = metrics.CreateCounter("felix_ipset_saves_interrupted",
            "Periodic read-backs stopped part-way to let a new change be written first; they run again once nothing waits.");
        LinesExecuted = metrics.CreateCounter("felix_ipset_lines_executed", "Lines sent to ipset restore.");
        Total = metrics.CreateGauge("felix_ipsets_total", "IP sets in the network namespace, felix's and others'.");
        Felix = metrics.CreateGauge("felix_ipsets_felix", "felix IP sets programmed.");
        Oversized = metrics.CreateGauge("felix_ipsets_oversized", "felix IP sets left as they are because they would hold more than MaxIpsetSize members.");
    }

    internal Counter Calls { get; }

    internal Counter Errors { get; }

    internal Counter SavesInterrupted { get; }

    internal Counter LinesExecuted { get; }

    internal Gauge Total { get; }

    internal Gauge Felix { get; }

    internal Gauge Oversized { get; }
}
