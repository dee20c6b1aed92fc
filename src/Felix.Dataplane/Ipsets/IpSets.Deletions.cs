using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Ipsets;

public sealed partial class IpSets
{
    /// <summary>
    /// Destroys felix sets nothing wants and leftover temporary sets, at most
    /// <see cref="IpSetsOptions.MaxDestroysPerApply"/> of them. Run it after the iptables apply that
    /// stopped using them. A set the kernel will not destroy because a rule still uses it (the
    /// iptables apply failed, or someone else's rule matches on it) is skipped and tried again
    /// later; it does not fail the apply. Any other refusal is retried after a fresh read-back;
    /// false after <see cref="IpSetsOptions.MaxAttempts"/> of them.
    /// </summary>
    public async Task<bool> ApplyDeletionsAsync(CancellationToken cancellationToken)
    {
        var budget = _options.MaxDestroysPerApply;
        var inUse = new HashSet<string>(StringComparer.Ordinal);
        string? lastError = null;
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            if (lastError is not null)
            {
                await Task.Delay(Backoff(attempt - 1), _clock, cancellationToken).ConfigureAwait(false);
            }
            if (_readBackNeeded && !await TryReadBackAsync(cancellationToken).ConfigureAwait(false))
            {
                lastError = "read-back failed";
                continue;
            }
            var pending = _temporaries.Order(StringComparer.Ordinal)
                .Concat(_unwanted.Where(n => !IsBlocked(_sets[n]) && !inUse.Contains(n)).Order(StringComparer.Ordinal))
                .Take(budget)
                .ToList();
            if (pending.Count == 0)
            {
                UpdateGauges();
                return true;
            }
            var batch = new IpsetBatch();
            foreach (var name in pending)
            {
                batch.For(name);
                batch.Destroy(name);
            }
            var result = await RestoreAsync(batch, cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                pending.ForEach(Destroyed);
                UpdateGauges();
                return true;
            }
            _metrics.Errors.Inc();
            var error = result.StandardError.Trim();
            // Each destroy is its own kernel message, so exactly the lines before the refused one took effect.
            if (RefusedLine(error) is { } number && number <= pending.Count && IsInUse(error) && !IpSetNames.IsTemporary(pending[number - 1]))
            {
                pending.Take(number - 1).ToList().ForEach(Destroyed);
                Block(_sets[pending[number - 1]]);
                inUse.Add(pending[number - 1]);
                budget -= number;
                attempt--;
                continue;
            }
            lastError = error;
            _readBackNeeded = true;
            LogDestroyRefused(_logger, attempt, _options.MaxAttempts, FirstLine(error));
        }
        FailingSince ??= _clock.GetUtcNow();
        LogDestroysFailed(_logger, _options.MaxAttempts, lastError ?? "(none)");
        UpdateGauges();
        return false;
    }

    private void Destroyed(string name)
    {
        if (IpSetNames.IsTemporary(name))
        {
            _temporaries.Remove(name);
            return;
        }
        _unwanted.Remove(name);
        _sets.Remove(name);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "ipset restore refused to destroy unwanted sets (attempt {Attempt} of {Max}): {Error}")]
    private static partial void LogDestroyRefused(ILogger logger, int attempt, int max, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "ipset restore refused to destroy unwanted sets {Attempts} times; last error: {Error}")]
    private static partial void LogDestroysFailed(ILogger logger, int attempts, string error);
}
