namespace Felix.Agent.Dataplane;

/// <summary>
/// When the read-backs run. A refresh interval is the operator's bound on how long hand-made
/// drift may last, so a read-back comes a little early, never late: each kernel object's interval
/// is drawn from 70–85 % of the configured one (which also spreads the parts, and the hosts of a
/// cluster started together, over different applies), and the driver's idle loop polls at a tenth
/// of the shortest interval (at most once a second), leaving the rest of the bound for the poll,
/// the read-back and the repair.
/// </summary>
public static class RefreshSchedule
{
    private const double EarliestFraction = 0.70;
    private const double FractionSpread = 0.15;
    private static readonly TimeSpan LongestIdlePoll = TimeSpan.FromSeconds(1);

    /// <summary>The interval one kernel object uses; <paramref name="unit"/> is a random draw in [0, 1). Zero (refresh off) stays zero.</summary>
    public static TimeSpan Jittered(TimeSpan configured, double unit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(unit, 0.0);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(unit, 1.0);
        return configured <= TimeSpan.Zero ? configured : configured * (EarliestFraction + (FractionSpread * unit));
    }

    /// <summary>How often the idle driver wakes to notice a due read-back, given the configured intervals (zero ones are off).</summary>
    public static TimeSpan IdlePoll(params ReadOnlySpan<TimeSpan> configured)
    {
        var poll = LongestIdlePoll;
        foreach (var interval in configured)
        {
            if (interval > TimeSpan.Zero && interval / 10 < poll)
            {
                poll = interval / 10;
            }
        }

        return poll;
    }
}
