namespace Felix.Dataplane.Exec;

/// <summary>
/// A periodic read-back that new input may stop. At scale a save takes a second or more, and a
/// change arriving just after one starts would wait for all of it; a save only reads, so killing
/// it (the runner kills a cancelled program) loses nothing, and the caller stays due to read back.
/// </summary>
internal static class InterruptibleReadBack
{
    /// <summary>Null when <paramref name="interrupt"/> was signalled, before or during the read-back; else the read-back's own verdict.</summary>
    public static async Task<bool?> RunAsync(Func<CancellationToken, Task<bool>> readBack, CancellationToken interrupt, CancellationToken cancellationToken)
    {
        if (interrupt.IsCancellationRequested)
        {
            return null;
        }
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, interrupt);
        try
        {
            return await readBack(either.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (interrupt.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }
}
