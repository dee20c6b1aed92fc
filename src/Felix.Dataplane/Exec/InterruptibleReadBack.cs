namespace Felix.Dataplane.Exec;

/// <summary>What an apply does about a read-back: none, one that runs through, or one that new input may stop.</summary>
internal enum ReadBackPlan
{
    Skip,
    Run,
    RunInterruptible,
}

/// <summary>
/// The read-back rule the iptables tables and the ipsets share. A read-back that is needed (at
/// start, after a failure, on request) runs first. One that is merely due waits while there are
/// changes to write — at scale a save costs seconds, and the change should not wait for it — and
/// goes ahead once nothing waits, or when it is overdue by a whole refresh interval under constant
/// churn. One that goes ahead only because nothing waited gives way to input that arrives while
/// it runs: a save only reads, so killing it (the runner kills a cancelled program) loses nothing,
/// and the owner stays due.
/// </summary>
internal static class InterruptibleReadBack
{
    public static ReadBackPlan Plan(bool needed, bool due, bool idle, bool overdue) =>
        needed ? ReadBackPlan.Run
        : !due ? ReadBackPlan.Skip
        : overdue ? ReadBackPlan.Run
        : idle ? ReadBackPlan.RunInterruptible
        : ReadBackPlan.Skip;

    /// <summary>Due for a whole refresh interval (never, with no refresh interval).</summary>
    public static bool Overdue(TimeProvider clock, long nextReadBack, TimeSpan refreshInterval) =>
        refreshInterval > TimeSpan.Zero
        && (clock.GetTimestamp() - nextReadBack) / (double)clock.TimestampFrequency >= refreshInterval.TotalSeconds;

    /// <summary>
    /// Carries out <paramref name="plan"/>: true when skipped, the read-back's verdict when it ran,
    /// null when <paramref name="interrupt"/> stopped it (before or during; then
    /// <paramref name="interrupted"/> is told).
    /// </summary>
    public static async Task<bool?> RunAsync(ReadBackPlan plan, Func<CancellationToken, Task<bool>> readBack, Action interrupted,
        CancellationToken interrupt, CancellationToken cancellationToken)
    {
        switch (plan)
        {
            case ReadBackPlan.Skip:
                return true;
            case ReadBackPlan.Run:
                return await readBack(cancellationToken).ConfigureAwait(false);
        }
        if (!interrupt.IsCancellationRequested)
        {
            using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, interrupt);
            try
            {
                return await readBack(either.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (interrupt.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // Stopped: told below.
            }
        }
        interrupted();
        return null;
    }
}
