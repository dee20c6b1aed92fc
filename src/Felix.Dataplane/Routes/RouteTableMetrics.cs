using Prometheus;

namespace Felix.Dataplane.Routes;

/// <summary>
/// The route metrics: <c>felix_route_table_list_seconds</c> and
/// <c>felix_route_table_per_iface_sync_seconds</c> labelled by IP version, and
/// <c>felix_netlink_errors</c>, every error the kernel answered a netlink request with, by errno name.
/// </summary>
public sealed class RouteTableMetrics
{
    private static readonly SummaryConfiguration Quantiles = new()
    {
        Objectives = [new QuantileEpsilonPair(0.5, 0.05), new QuantileEpsilonPair(0.9, 0.01), new QuantileEpsilonPair(0.99, 0.001)],
    };

    private readonly Summary _listSeconds;
    private readonly Summary _perInterfaceSyncSeconds;

    public RouteTableMetrics(IMetricFactory metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        string[] labels = ["ip_version"];
        _listSeconds = metrics.CreateSummary("felix_route_table_list_seconds",
            "Time taken to read back the links and the agent's routes (a resync).", labels, Quantiles);
        _perInterfaceSyncSeconds = metrics.CreateSummary("felix_route_table_per_iface_sync_seconds",
            "Time taken to sync each interface's routes (the requests of one apply are pipelined together, so its time is shared evenly among the interfaces it synced).",
            labels, Quantiles);
        NetlinkErrors = NetlinkErrorMetric.Create(metrics);
    }

    internal Counter NetlinkErrors { get; }

    internal Labelled For(IpVersion version)
    {
        var value = version == IpVersion.V4 ? "4" : "6";
        return new Labelled(_listSeconds.WithLabels(value), _perInterfaceSyncSeconds.WithLabels(value), NetlinkErrors);
    }

    internal sealed record Labelled(Summary.Child ListSeconds, Summary.Child PerInterfaceSyncSeconds, Counter NetlinkErrors);
}
