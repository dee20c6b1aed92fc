using Felix.Dataplane.Exec;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Ipsets;

public sealed partial class IpSets
{
    private bool ReadBackOverdue => InterruptibleReadBack.Overdue(_clock, _nextReadBack, _options.RefreshInterval);

    /// <summary>
    /// The read-back of <see cref="InterruptibleReadBack"/>'s rule: idle means no set to write or
    /// destroy here nor, when <paramref name="othersWriting"/>, changes in the iptables tables. An
    /// <c>ipset save</c> of 250k members takes about a second.
    /// </summary>
    private ReadBackPlan PlanReadBack(bool othersWriting) =>
        InterruptibleReadBack.Plan(_readBackNeeded, ReadBackDue,
            idle: !othersWriting && !HasChangesToWrite,
            ReadBackOverdue);

    private void OnReadBackInterrupted()
    {
        _metrics.SavesInterrupted.Inc();
        LogReadBackInterrupted(_logger);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "ipsets: periodic read-back stopped to write a new change first")]
    private static partial void LogReadBackInterrupted(ILogger logger);
}
