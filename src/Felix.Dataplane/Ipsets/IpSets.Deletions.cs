using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Ipsets;

public sealed partial class IpSets
{
    /// <summary>
    /// Destroys felix sets nothing wants and leftover temporary sets, at most
    /// <see cref="IpSetsOptions.MaxDestroysPerApply"/> of them. Run it after the iptables apply that
    /// stopped using them. A set the kernel will not destroy because a rule still uses it (the
    /// iptables apply failed, or someone else's rule matches on it) is skipped and tried again
    /// later; it does not fail the apply. False only when ipset itself failed otherwise.
    /// </summary>
    public async Task<bool> ApplyDeletionsAsync(CancellationToken cancellationToken)
    {
        if (_readBackNeeded && !await TryReadBackAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        var pending = _temporaries.Order(StringComparer.Ordinal)
            .Concat(_unwanted.Where(n => !IsBlocked(_sets[n])).Order(StringComparer.Ordinal))
            .Take(_options.MaxDestroysPerApply)
            .ToList();
        while (pending.Count > 0)
        {
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
                break;
            }
            _metrics.Errors.Inc();
            var error = result.StandardError.Trim();
            // Each destroy is its own kernel message, so exactly the lines before the refused one took effect.
            if (RefusedLine(error) is not { } number || number > pending.Count || !IsInUse(error) || IpSetNames.IsTemporary(pending[number - 1]))
            {
                _readBackNeeded = true;
                LogDestroyFailed(_logger, FirstLine(error));
                UpdateGauges();
                return false;
            }
            pending.Take(number - 1).ToList().ForEach(Destroyed);
            Block(_sets[pending[number - 1]]);
            pending = pending.Skip(number).ToList();
        }
        UpdateGauges();
        return true;
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "ipset restore could not destroy unwanted sets: {Error}; reading back before trying again")]
    private static partial void LogDestroyFailed(ILogger logger, string error);
}
