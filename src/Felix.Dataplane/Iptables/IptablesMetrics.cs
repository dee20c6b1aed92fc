using Prometheus;

namespace Felix.Dataplane.Iptables;

/// <summary>The iptables metrics of DESIGN.md §5, labelled by IP version and table.</summary>
public sealed class IptablesMetrics
{
    private readonly Counter _restoreCalls;
    private readonly Counter _restoreErrors;
    private readonly Counter _saveCalls;
    private readonly Counter _savesInterrupted;
    private readonly Counter _linesExecuted;
    private readonly Gauge _chains;
    private readonly Gauge _rules;

    public IptablesMetrics(IMetricFactory metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        string[] labels = ["ip_version", "table"];
        _restoreCalls = metrics.CreateCounter("felix_iptables_restore_calls", "iptables-restore runs.", labels);
        _restoreErrors = metrics.CreateCounter("felix_iptables_restore_errors", "iptables-restore runs that failed.", labels);
        _saveCalls = metrics.CreateCounter("felix_iptables_save_calls", "iptables-save runs (read-backs).", labels);
        _savesInterrupted = metrics.CreateCounter("felix_iptables_saves_interrupted",
            "Periodic read-backs stopped part-way to let a new change be written first; they run again once nothing waits.", labels);
        _linesExecuted = metrics.CreateCounter("felix_iptables_lines_executed", "Rule and chain lines sent to iptables-restore.", labels);
        _chains = metrics.CreateGauge("felix_iptables_chains", "felix chains programmed.", labels);
        _rules = metrics.CreateGauge("felix_iptables_rules", "Rules in felix chains and felix hooks programmed.", labels);
    }

    internal Labelled For(IpVersion version, TableName table)
    {
        string[] values = [version == IpVersion.V4 ? "4" : "6", table.ToRestoreName()];
        return new Labelled(
            _restoreCalls.WithLabels(values), _restoreErrors.WithLabels(values), _saveCalls.WithLabels(values),
            _savesInterrupted.WithLabels(values), _linesExecuted.WithLabels(values), _chains.WithLabels(values), _rules.WithLabels(values));
    }

    internal sealed record Labelled(
        Counter.Child RestoreCalls, Counter.Child RestoreErrors, Counter.Child SaveCalls,
        Counter.Child SavesInterrupted, Counter.Child LinesExecuted, Gauge.Child Chains, Gauge.Child Rules);
}
