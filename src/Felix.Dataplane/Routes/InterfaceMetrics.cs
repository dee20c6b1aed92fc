using Prometheus;

namespace Felix.Dataplane.Routes;

/// <summary>What the workload interface configuration did and what it could not do.</summary>
public sealed class InterfaceMetrics
{
    public InterfaceMetrics(IMetricFactory metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        SysctlWrites = metrics.CreateCounter("felix_interface_sysctl_writes", "Kernel parameters (/proc/sys) the agent found different and set.");
        SysctlErrors = metrics.CreateCounter("felix_interface_sysctl_errors", "Kernel parameters (/proc/sys) that could not be read or set.");
        NetlinkErrors = NetlinkErrorMetric.Create(metrics);
        Configured = metrics.CreateGauge("felix_interfaces_configured", "Local workload interfaces present and fully configured.");
        Waiting = metrics.CreateGauge("felix_interfaces_waiting", "Local workload interfaces wanted but not in the namespace (yet).");
    }

    internal Counter SysctlWrites { get; }

    internal Counter SysctlErrors { get; }

    internal Counter NetlinkErrors { get; }

    internal Gauge Configured { get; }

    internal Gauge Waiting { get; }
}
