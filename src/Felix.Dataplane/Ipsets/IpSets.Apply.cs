using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Felix.Dataplane.Exec;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Ipsets;

public sealed partial class IpSets
{
    /// <summary>
    /// Creates, fills and updates the wanted sets in one <c>ipset restore</c>, reading back first when
    /// needed. Run it before the iptables apply. A refused batch is retried after a fresh read-back,
    /// with the refused set rewritten whole; false after <see cref="IpSetsOptions.MaxAttempts"/>
    /// refusals. True when every wanted set is in step, except two kinds that wait without failing
    /// the apply, each logged: a set too large for MaxIpsetSize (left as it is), and a set whose type
    /// or family must change while a rule still uses it (the kernel can neither swap nor destroy it;
    /// tried again every <see cref="IpSetsOptions.InUseRetry"/>, and meanwhile the rules match on
    /// the old set, whose members are still addresses of the same family).
    /// </summary>
    public Task<bool> ApplyUpdatesAsync(CancellationToken cancellationToken) =>
        ApplyUpdatesAsync(othersWriting: false, CancellationToken.None, cancellationToken);

    /// <inheritdoc cref="ApplyUpdatesAsync(CancellationToken)"/>
    /// <param name="othersWriting">The iptables tables have changes to write in this apply: a read-back that is only due waits for them.</param>
    /// <param name="readBackInterrupt">Signalled when new input waits: a read-back run only because all was idle stops for it.</param>
    /// <param name="cancellationToken">Cancels a wait between attempts and the programs run.</param>
    public async Task<bool> ApplyUpdatesAsync(bool othersWriting, CancellationToken readBackInterrupt, CancellationToken cancellationToken)
    {
        string? lastError = null;
        IpsetBatch? lastBatch = null;
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            if (attempt > 1)
            {
                await Task.Delay(Backoff(attempt - 1), _clock, cancellationToken).ConfigureAwait(false);
            }
            var readBack = await InterruptibleReadBack.RunAsync(PlanReadBack(othersWriting), TryReadBackAsync, OnReadBackInterrupted,
                readBackInterrupt, cancellationToken).ConfigureAwait(false);
            if (readBack is null)
            {
                return true; // Stopped for new input: still due.
            }
            if (readBack == false)
            {
                lastError = "read-back failed";
                continue;
            }
            var (batch, written) = BuildUpdates();
            if (batch.IsEmpty)
            {
                FailingSince = null;
                return true;
            }
            var result = await RestoreAsync(batch, cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                foreach (var state in written)
                {
                    Committed(state);
                    _temporaries.Remove(IpSetNames.Temporary(state.Name));
                    _dirty.Remove(state.Name);
                }
                UpdateGauges();
                FailingSince = null;
                return true;
            }
            (lastError, lastBatch) = (result.StandardError.Trim(), batch);
            OnRefused(batch, lastError);
            LogRefusedAttempt(_logger, attempt, _options.MaxAttempts, FirstLine(lastError));
        }
        FailingSince ??= _clock.GetUtcNow();
        LogRefused(_logger, _options.MaxAttempts, lastError ?? "(none)", lastBatch is null ? "(no batch)" : RestoreRetry.QuoteAround(lastBatch.Text, RefusedLine(lastError ?? string.Empty)));
        return false;
    }

    /// <summary>
    /// The batch of every dirty wanted set, and the sets it brings in step. A set too large is left
    /// as it is — except that one not in the kernel at all is created empty, so the rules that match
    /// on it can load and every other endpoint's policy still applies.
    /// </summary>
    private (IpsetBatch Batch, List<IpSetState> Written) BuildUpdates()
    {
        var batch = new IpsetBatch();
        var written = new List<IpSetState>();
        foreach (var name in _dirty.Order(StringComparer.Ordinal).ToList())
        {
            var state = _sets[name];
            var spec = state.Spec!;
            if (IsBlocked(state) || CheckOversized(state, spec))
            {
                continue;
            }
            batch.For(name);
            if (!state.HeldAsWanted)
            {
                WriteRewrite(batch, state, spec);
            }
            else
            {
                foreach (var member in state.PendingDelete.Order(NetworkOrder.Instance))
                {
                    batch.Delete(name, member);
                }
                foreach (var member in state.PendingAdd.Order(NetworkOrder.Instance))
                {
                    batch.Add(name, member);
                }
            }
            written.Add(state);
        }
        return (batch, written);
    }

    private static void Committed(IpSetState state)
    {
        if (state.Oversized)
        {
            // Created empty for the rules' sake: every member is still to be added once it fits.
            state.Reconcile(IpSetMetadata.Of(state.Spec!), []);
            state.NeedsRewrite = false;
        }
        else
        {
            state.MarkWritten(state.Spec!);
        }
    }

    /// <summary>True when the set is too large to program; it then leaves the dirty list until its members change.</summary>
    private bool CheckOversized(IpSetState state, IpSetSpec spec)
    {
        var oversized = state.Members.Count > spec.MaxSize;
        if (oversized != state.Oversized)
        {
            state.Oversized = oversized;
            if (oversized)
            {
                LogOversized(_logger, state.Name, state.Members.Count, spec.MaxSize);
            }
            else
            {
                LogNoLongerOversized(_logger, state.Name, state.Members.Count, spec.MaxSize);
            }
            UpdateOversizedGauge();
        }
        if (oversized && state.Kernel is not null)
        {
            _dirty.Remove(state.Name);
        }
        return oversized && state.Kernel is not null;
    }

    private void WriteRewrite(IpsetBatch batch, IpSetState state, IpSetSpec spec)
    {
        var name = state.Name;
        if (state.Oversized)
        {
            batch.Create(name, spec, 0);
            return;
        }
        var temporary = IpSetNames.Temporary(name);
        if (_temporaries.Contains(temporary))
        {
            batch.Destroy(temporary);
        }
        batch.Create(temporary, spec, state.Members.Count);
        foreach (var member in state.Members)
        {
            batch.Add(temporary, member);
        }
        if (state.Kernel is null)
        {
            batch.Rename(temporary, name);
        }
        else if (state.Kernel.SwappableWith(spec))
        {
            batch.Swap(temporary, name);
            batch.Destroy(temporary);
        }
        else
        {
            // The kernel swaps only sets of one type and family; this fails while a rule still uses the old set.
            batch.Destroy(name);
            batch.Rename(temporary, name);
        }
    }

    /// <summary>
    /// Earlier lines of a refused batch stay applied, so the next attempt reads back first. The set
    /// the refused line was for is rewritten whole; one the kernel would not destroy because a rule
    /// still uses it is left for <see cref="IpSetsOptions.InUseRetry"/>.
    /// </summary>
    private void OnRefused(IpsetBatch batch, string error)
    {
        _metrics.Errors.Inc();
        _readBackNeeded = true;
        if (RefusedLine(error) is not { } number || batch.LineAt(number) is not { } line || !_sets.TryGetValue(line.Set, out var state))
        {
            return;
        }
        if (line.Kind == IpsetLineKind.Destroy && IsInUse(error))
        {
            Block(state);
        }
        else
        {
            state.NeedsRewrite = true;
        }
    }

    private void Block(IpSetState state)
    {
        state.BlockedUntil = _clock.GetTimestamp() + (long)(_options.InUseRetry.TotalSeconds * _clock.TimestampFrequency);
        if (state.Spec is { } spec)
        {
            LogInUseReplace(_logger, state.Name, spec.Type.ToIpsetName(), spec.Family.ToFamilyName(), _options.InUseRetry.TotalSeconds);
        }
        else
        {
            LogInUse(_logger, state.Name, _options.InUseRetry.TotalSeconds);
        }
    }

    /// <summary>Reads back every felix set and recomputes what differs from the desired state.</summary>
    public async Task<bool> TryReadBackAsync(CancellationToken cancellationToken)
    {
        var reader = new SavedIpsets.Reader();
        var result = await RunAsync(new Command(Tool, ["save"], null, _options.CommandTimeout, reader), cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            _metrics.Errors.Inc();
            LogReadBackFailed(_logger, FirstLine(result.StandardError));
            return false;
        }
        SavedIpsets saved;
        try
        {
            saved = reader.Finish();
        }
        catch (FormatException e)
        {
            LogReadBackFailed(_logger, e.Message);
            return false;
        }
        Adopt(saved);
        _readBackNeeded = false;
        _nextReadBack = _options.RefreshInterval > TimeSpan.Zero
            ? _clock.GetTimestamp() + (long)(_options.RefreshInterval.TotalSeconds * _clock.TimestampFrequency)
            : long.MaxValue;
        return true;
    }

    private void Adopt(SavedIpsets saved)
    {
        var wasInStep = _dirty.Count == 0 && _unwanted.Count == 0 && _temporaries.Count == 0;
        _foreignSets = saved.Total - saved.Owned.Count;
        _temporaries.Clear();
        _temporaries.UnionWith(saved.Owned.Keys.Where(IpSetNames.IsTemporary));
        HashSet<IPNetwork> none = [];
        foreach (var state in _sets.Values.Where(s => !saved.Owned.ContainsKey(s.Name)))
        {
            state.Reconcile(null, none);
        }
        foreach (var (name, set) in saved.Owned.Where(s => !IpSetNames.IsTemporary(s.Key)))
        {
            StateOf(name).Reconcile(set.Metadata, set.Members);
        }
        foreach (var state in _sets.Values.Where(s => s.Spec is null && s.Kernel is null).ToList())
        {
            _sets.Remove(state.Name);
        }
        _dirty.Clear();
        _unwanted.Clear();
        foreach (var state in _sets.Values)
        {
            if (state.Spec is null)
            {
                _unwanted.Add(state.Name);
            }
            else if (!state.InStep)
            {
                _dirty.Add(state.Name);
            }
        }
        if (!_adopted)
        {
            LogAdopted(_logger, saved.Owned.Count, _dirty.Count, _unwanted.Count + _temporaries.Count);
            _adopted = true;
        }
        else if (wasInStep && (_dirty.Count > 0 || _unwanted.Count > 0 || _temporaries.Count > 0))
        {
            LogDrift(_logger, _dirty.Count, string.Join(", ", _dirty.Order(StringComparer.Ordinal).Take(10)));
        }
        UpdateGauges();
    }

    private async Task<CommandResult> RestoreAsync(IpsetBatch batch, CancellationToken cancellationToken)
    {
        _metrics.LinesExecuted.Inc(batch.Lines);
        return await RunAsync(new Command(Tool, ["restore"], batch.Input, _options.CommandTimeout), cancellationToken).ConfigureAwait(false);
    }

    private async Task<CommandResult> RunAsync(Command command, CancellationToken cancellationToken)
    {
        _metrics.Calls.Inc();
        try
        {
            return await _runner.RunAsync(command, cancellationToken).ConfigureAwait(false);
        }
        catch (CommandException e)
        {
            return new CommandResult(-1, string.Empty, e.Message, TimeSpan.Zero);
        }
    }

    private void UpdateGauges()
    {
        var programmed = _sets.Values.Count(s => s.Kernel is not null) + _temporaries.Count;
        _metrics.Felix.Set(programmed);
        _metrics.Total.Set(_foreignSets + programmed);
    }

    private TimeSpan Backoff(int failures) => RestoreRetry.Backoff(_options.InitialBackoff, _options.MaxBackoff, failures);

    private static int? RefusedLine(string error)
    {
        var match = ErrorLine().Match(error);
        return match.Success && int.TryParse(match.Groups[1].Value, CultureInfo.InvariantCulture, out var number) ? number : null;
    }

    private static bool IsInUse(string error) => error.Contains("in use by a kernel component", StringComparison.Ordinal);

    private static string FirstLine(string text) => text.Split('\n', 2)[0];

    [GeneratedRegex(@"Error in line (\d+):")]
    private static partial Regex ErrorLine();

    [LoggerMessage(Level = LogLevel.Warning, Message = "ipset restore refused the batch (attempt {Attempt} of {Max}): {Error}")]
    private static partial void LogRefusedAttempt(ILogger logger, int attempt, int max, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "ipset restore refused the batch {Attempts} times; last error: {Error}; around the refused line: {Lines}")]
    private static partial void LogRefused(ILogger logger, int attempts, string error, string lines);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading back with ipset save failed: {Error}")]
    private static partial void LogReadBackFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "ipsets: found {Programmed} felix sets programmed; {Dirty} to write, {Unwanted} to destroy")]
    private static partial void LogAdopted(ILogger logger, int programmed, int dirty, int unwanted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ipsets: read-back found {Count} felix sets changed by someone else ({Sets}); repairing")]
    private static partial void LogDrift(ILogger logger, int count, string sets);

    [LoggerMessage(Level = LogLevel.Error, Message = "ipset {Set} would hold {Members} members, more than MaxIpsetSize ({Max}); leaving it as it is")]
    private static partial void LogOversized(ILogger logger, string set, int members, int max);

    [LoggerMessage(Level = LogLevel.Information, Message = "ipset {Set} is back within MaxIpsetSize ({Members} of {Max} members); programming it")]
    private static partial void LogNoLongerOversized(ILogger logger, string set, int members, int max);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ipset {Set} cannot be destroyed while a rule still uses it; trying again in {Seconds} s")]
    private static partial void LogInUse(ILogger logger, string set, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ipset {Set} cannot be replaced by a {Type} set of family {Family} while a rule still uses the old one; trying again in {Seconds} s")]
    private static partial void LogInUseReplace(ILogger logger, string set, string type, string family, double seconds);
}
