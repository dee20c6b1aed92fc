using Prometheus;

namespace Felix.Dataplane.Routes;

/// <summary>
/// <c>felix_netlink_errors</c>, one counter for every netlink user (route tables and interface
/// configuration), so an operator sees one figure by errno name. Both metric classes take it from
/// here: prometheus-net hands back the same counter for the same name and labels.
/// </summary>
internal static class NetlinkErrorMetric
{
    /// <summary>The label value when the socket itself failed (no errno from the kernel).</summary>
    public const string Socket = "socket";

    public static Counter Create(IMetricFactory metrics) =>
        metrics.CreateCounter("felix_netlink_errors",
            "Netlink requests the kernel refused, by errno name (\"socket\": the socket itself failed); an interface that vanished is not counted.",
            ["errno"]);
}
