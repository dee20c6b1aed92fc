using Felix.Dataplane.Exec;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Ipsets;

public sealed partial class IpSets
{
    /// <summary>Due for a whole refresh interval: under constant churn, a read-back that waited that long runs whatever waits.</summary>
    private bool ReadBackOverdue =>
        _options.RefreshInterval > TimeSpan.Zero
        && (_clock.GetTimestamp() - _nextReadBack) / (double)_clock.TimestampFrequency >= _options.RefreshInterval.TotalSeconds;

    /// <summary>
    /// A read-back that is needed (at start, after a failure, on request) runs first. One that is
    /// merely due waits while there are changes to write — here, or in the iptables tables when
    /// <paramref name="othersWriting"/>: an <c>ipset save</c> of 250k members takes about a second,
    /// and the change should not wait for it — unless it is overdue by a whole refresh interval.
    /// One that runs only because nothing was waiting is <paramref name="interruptible"/>.
    /// </summary>
    private bool ShouldReadBack(bool othersWriting, out bool interruptible)
    {
        interruptible = false;
        if (_readBackNeeded)
        {
            return true;
        }
        if (!ReadBackDue)
        {
            return false;
        }
        var idle = !othersWriting && _temporaries.Count == 0 && !_dirty.Any(n => !IsBlocked(_sets[n])) && !_unwanted.Any(n => !IsBlocked(_sets[n]));
        var overdue = ReadBackOverdue;
        interruptible = idle && !overdue;
        return idle || overdue;
    }

    /// <summary>A periodic read-back that new input may stop (<see cref="InterruptibleReadBack"/>); null when it was.</summary>
    private async Task<bool?> TryInterruptibleReadBackAsync(CancellationToken interrupt, CancellationToken cancellationToken)
    {
        var result = await InterruptibleReadBack.RunAsync(TryReadBackAsync, interrupt, cancellationToken).ConfigureAwait(false);
        if (result is null)
        {
            _metrics.SavesInterrupted.Inc();
            LogReadBackInterrupted(_logger);
        }
        return result;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "ipsets: periodic read-back stopped to write a new change first")]
    private static partial void LogReadBackInterrupted(ILogger logger);
}
