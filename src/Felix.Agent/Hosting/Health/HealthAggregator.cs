using System.Collections.Immutable;

namespace Felix.Agent.Hosting.Health;

/// <summary>What one component says about itself, and when it said it.</summary>
public sealed record HealthReport(bool Live, bool Ready, string Detail, DateTimeOffset At);

/// <summary>The agent's health at one moment: overall verdicts and each component's line.</summary>
public sealed record HealthSnapshot(bool Live, bool Ready, IReadOnlyList<ComponentHealth> Components);

public sealed record ComponentHealth(string Name, bool Live, bool Ready, string Detail);

/// <summary>
/// The readiness API components report into. Each component registers once and then reports
/// whenever its state changes (or periodically, when it registered a liveness timeout). The agent is
/// ready when at least one component reports readiness and all that do are ready; it is live when no
/// component is dead or silent for longer than its timeout. Reports replace an immutable record, so
/// reporters on any thread never block the health endpoint.
/// </summary>
public sealed class HealthAggregator
{
    private readonly TimeProvider _clock;
    private ImmutableArray<HealthReporter> _reporters = [];

    public HealthAggregator(TimeProvider clock)
    {
        _clock = clock;
    }

    /// <param name="name">Component name shown by the endpoints.</param>
    /// <param name="reportsReadiness">Whether the agent's readiness waits for this component.</param>
    /// <param name="livenessTimeout">A component silent for longer is reported dead.</param>
    public HealthReporter Register(string name, bool reportsReadiness, TimeSpan? livenessTimeout = null)
    {
        var reporter = new HealthReporter(name, reportsReadiness, livenessTimeout, _clock);
        ImmutableInterlocked.Update(ref _reporters, list => list.Add(reporter));
        return reporter;
    }

    public HealthSnapshot Snapshot()
    {
        var now = _clock.GetUtcNow();
        var components = new List<ComponentHealth>();
        var live = true;
        var anyReadiness = false;
        var ready = true;
        foreach (var reporter in _reporters)
        {
            var report = reporter.Latest;
            var silentTooLong = reporter.LivenessTimeout is { } timeout && now - report.At > timeout;
            var componentLive = report.Live && !silentTooLong;
            var detail = silentTooLong ? $"no report for {(now - report.At).TotalSeconds:0}s; {report.Detail}" : report.Detail;
            components.Add(new ComponentHealth(reporter.Name, componentLive, report.Ready, detail));
            live &= componentLive;
            if (reporter.ReportsReadiness)
            {
                anyReadiness = true;
                ready &= report.Ready;
            }
        }
        return new HealthSnapshot(live, live && anyReadiness && ready, components);
    }
}

/// <summary>A component's handle for reporting its health.</summary>
public sealed class HealthReporter
{
    private readonly TimeProvider _clock;
    private HealthReport _latest;

    internal HealthReporter(string name, bool reportsReadiness, TimeSpan? livenessTimeout, TimeProvider clock)
    {
        Name = name;
        ReportsReadiness = reportsReadiness;
        LivenessTimeout = livenessTimeout;
        _clock = clock;
        _latest = new HealthReport(Live: true, Ready: false, "starting", clock.GetUtcNow());
    }

    public string Name { get; }

    public bool ReportsReadiness { get; }

    public TimeSpan? LivenessTimeout { get; }

    public HealthReport Latest => Volatile.Read(ref _latest);

    public void Report(bool live, bool ready, string detail) =>
        Volatile.Write(ref _latest, new HealthReport(live, ready, detail, _clock.GetUtcNow()));
}
