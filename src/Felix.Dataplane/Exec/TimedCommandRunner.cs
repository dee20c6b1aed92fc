using Prometheus;

namespace Felix.Dataplane.Exec;

/// <summary>
/// Wraps the real runner to record how long each program ran, in <c>felix_exec_time_micros</c>
/// labelled by program name, so an operator can see when <c>iptables-restore</c> or <c>ipset</c>
/// becomes the slow part of an apply.
/// </summary>
public sealed class TimedCommandRunner : ICommandRunner
{
    private readonly ICommandRunner _inner;
    private readonly Summary _execTime;

    public TimedCommandRunner(ICommandRunner inner, IMetricFactory metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _inner = inner;
        _execTime = metrics.CreateSummary("felix_exec_time_micros", "Time programs run by the dataplane took, in microseconds.",
            ["command"], new SummaryConfiguration
            {
                Objectives = [new QuantileEpsilonPair(0.5, 0.05), new QuantileEpsilonPair(0.9, 0.01), new QuantileEpsilonPair(0.99, 0.001)],
            });
    }

    public async Task<CommandResult> RunAsync(Command command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var result = await _inner.RunAsync(command, cancellationToken).ConfigureAwait(false);
        _execTime.WithLabels(Path.GetFileName(command.FileName)).Observe(result.Duration.TotalMicroseconds);
        return result;
    }
}
