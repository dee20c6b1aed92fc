namespace Felix.Dataplane.Exec;

/// <summary>
/// What the restore-driven managers (iptables tables, ipsets) share when a tool refuses a batch:
/// the capped exponential backoff between attempts, and the lines around the one the tool blamed,
/// for the error an operator reads.
/// </summary>
public static class RestoreRetry
{
    /// <summary><paramref name="initial"/> doubled per earlier failure, at most <paramref name="max"/>.</summary>
    public static TimeSpan Backoff(TimeSpan initial, TimeSpan max, int failures)
    {
        var delay = initial * Math.Pow(2, Math.Clamp(failures - 1, 0, 16));
        return delay < max ? delay : max;
    }

    /// <summary>Lines <paramref name="failedLine"/> ± 2 of <paramref name="batch"/>, numbered, the failed one marked with <c>&gt;</c>.</summary>
    public static string QuoteAround(string batch, int? failedLine)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (failedLine is not { } failed)
        {
            return "(the tool did not name a line)";
        }
        var lines = batch.Split('\n');
        var first = Math.Max(1, failed - 2);
        var last = Math.Min(lines.Length, failed + 2);
        return first > last ? "(the named line is not in the batch)" : string.Join(" | ", Enumerable.Range(first, last - first + 1)
            .Select(n => $"{(n == failed ? ">" : " ")}{n}: {lines[n - 1]}"));
    }
}
