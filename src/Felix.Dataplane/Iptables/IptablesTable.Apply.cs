using System.Text.RegularExpressions;
using Felix.Dataplane.Exec;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Iptables;

public sealed partial class IptablesTable
{
    /// <summary>
    /// Writes the difference between desired and programmed state, reading back first when needed.
    /// A refused batch is retried after a fresh read-back with capped backoff; true when the table
    /// is in step, false after <see cref="IptablesTableOptions.MaxAttempts"/> refusals.
    /// </summary>
    public Task<bool> ApplyAsync(CancellationToken cancellationToken) => ApplyAsync(othersWriting: false, cancellationToken);

    /// <inheritdoc cref="ApplyAsync(CancellationToken)"/>
    /// <param name="othersWriting">Another table has changes to write in this apply: a read-back that is only due waits for them.</param>
    /// <param name="cancellationToken">Cancels a wait between attempts and the programs run.</param>
    public Task<bool> ApplyAsync(bool othersWriting, CancellationToken cancellationToken) =>
        ApplyAsync(othersWriting, CancellationToken.None, cancellationToken);

    /// <inheritdoc cref="ApplyAsync(bool, CancellationToken)"/>
    /// <param name="othersWriting">Another table has changes to write in this apply: a read-back that is only due waits for them.</param>
    /// <param name="readBackInterrupt">
    /// Signalled when a new change is waiting: a periodic read-back run only because the table was
    /// idle stops (its save is killed) and the apply returns at once, in step, still due to read back.
    /// </param>
    /// <param name="cancellationToken">Cancels a wait between attempts and the programs run.</param>
    public async Task<bool> ApplyAsync(bool othersWriting, CancellationToken readBackInterrupt, CancellationToken cancellationToken)
    {
        string? lastError = null;
        RestoreBatch? lastBatch = null;
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            var listedCost = TimeSpan.Zero;
            if (attempt > 1)
            {
                await Task.Delay(Backoff(attempt - 1), _clock, cancellationToken).ConfigureAwait(false);
            }
            var readBack = await InterruptibleReadBack.RunAsync(PlanReadBack(othersWriting), TryReadBackAsync, OnReadBackInterrupted,
                readBackInterrupt, cancellationToken).ConfigureAwait(false);
            if (readBack is null)
            {
                return true; // Stopped for new input: in step as before, still due.
            }
            if (readBack == false)
            {
                continue;
            }
            var batch = BuildBatch();
            if (batch.IsEmpty)
            {
                MarkInStep();
                return true;
            }
            if (ListingPaysOff(batch))
            {
                // iptables-nft 1.8.9 refuses any edit of a built-in chain in a batch that lists
                // ("RULE_INSERT failed (No such file or directory)"), so the chains go first, listed,
                // and the hooks and the removals follow in a second, small batch.
                var chains = BuildBatch(hooksAndLeaving: false);
                chains.ListFirst();
                var written = await RestoreAsync(chains, cancellationToken).ConfigureAwait(false);
                if (!written.Succeeded)
                {
                    _metrics.RestoreErrors.Inc();
                    _readBackNeeded = true;
                    (lastError, lastBatch) = (written.StandardError.Trim(), chains);
                    LogRefusedAttempt(_logger, _commands.Restore, _tableName, attempt, _options.MaxAttempts, FirstLine(lastError));
                    continue;
                }
                CommitDesiredChains();
                listedCost = written.Duration;
                batch = BuildBatch();
                if (batch.IsEmpty)
                {
                    _lastRestore = listedCost;
                    MarkInStep();
                    SchedulePostWriteReadBack();
                    return true;
                }
            }
            var result = await RestoreAsync(batch, cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                // The write's cost spaces the first read-back: both batches of a listed write count.
                _lastRestore = listedCost + result.Duration;
                Commit();
                MarkInStep();
                SchedulePostWriteReadBack();
                return true;
            }
            _metrics.RestoreErrors.Inc();
            _readBackNeeded = true;
            (lastError, lastBatch) = (result.StandardError.Trim(), batch);
            LogRefusedAttempt(_logger, _commands.Restore, _tableName, attempt, _options.MaxAttempts, FirstLine(lastError));
        }
        FailingSince ??= _clock.GetUtcNow();
        LogRefused(_logger, _commands.Restore, _tableName, _options.MaxAttempts, lastError ?? "read-back failed",
            lastBatch is null ? "(no batch)" : QuoteAround(lastBatch.Text, lastError ?? string.Empty));
        return false;
    }

    /// <param name="hooksAndLeaving">Also the hooks and the chains that go away; false: only the chains we want.</param>
    private RestoreBatch BuildBatch(bool hooksAndLeaving = true)
    {
        var batch = new RestoreBatch(_table);
        var dirty = _dirty.Order(StringComparer.Ordinal).ToList();
        foreach (var name in dirty.Where(n => _desired.ContainsKey(n) && !_programmed.ContainsKey(n)))
        {
            batch.DeclareChain(name);
        }
        foreach (var name in dirty.Where(_desired.ContainsKey))
        {
            WriteEdits(batch, _desired[name], _programmed.GetValueOrDefault(name) ?? []);
        }
        if (!hooksAndLeaving)
        {
            return batch;
        }
        foreach (var builtin in HookedChains().Where(b => _hooksDirty && !HooksInPlace(b)))
        {
            var hooks = _desiredHooks.GetValueOrDefault(builtin) ?? [];
            var programmed = _builtins.GetValueOrDefault(builtin) ?? [];
            for (var i = programmed.Count - 1; i >= 0; i--)
            {
                if (programmed[i] is not null)
                {
                    batch.Delete(builtin, i + 1);
                }
            }
            for (var i = hooks.Count - 1; i >= 0; i--)
            {
                batch.Insert(builtin, 1, hooks[i]);
            }
        }
        var leaving = dirty.Where(n => !_desired.ContainsKey(n) && _programmed.ContainsKey(n)).ToList();
        foreach (var name in leaving.Where(n => _programmed[n].Count > 0))
        {
            batch.Flush(name);
        }
        foreach (var name in leaving.Where(n => !_foreignReferenced.Contains(n)))
        {
            batch.DeleteChain(name);
        }
        return batch;
    }

    private static void WriteEdits(RestoreBatch batch, Chain chain, List<string?> programmed)
    {
        var length = programmed.Count;
        foreach (var edit in ChainDiff.Compute(programmed, chain.Rules.Select(r => r.Hash).ToList()))
        {
            switch (edit.Kind)
            {
                case ChainEditKind.Delete:
                    batch.Delete(chain.Name, edit.Position);
                    length--;
                    break;
                case ChainEditKind.Insert when edit.Position == length + 1:
                    batch.Append(chain.Name, chain.Rules[edit.Desired]);
                    length++;
                    break;
                case ChainEditKind.Insert:
                    batch.Insert(chain.Name, edit.Position, chain.Rules[edit.Desired]);
                    length++;
                    break;
                case ChainEditKind.Replace:
                    batch.Replace(chain.Name, edit.Position, chain.Rules[edit.Desired]);
                    break;
            }
        }
    }

    /// <summary>After a successful restore the kernel holds exactly what the batch was built from.</summary>
    private void Commit()
    {
        foreach (var name in _dirty)
        {
            if (_desired.TryGetValue(name, out var chain))
            {
                _programmed[name] = [.. chain.Rules.Select(r => r.Hash)];
            }
            else if (_foreignReferenced.Contains(name))
            {
                _programmed[name] = [];
            }
            else
            {
                _programmed.Remove(name);
            }
        }
        if (_hooksDirty)
        {
            foreach (var builtin in HookedChains().ToList())
            {
                var hooks = _desiredHooks.GetValueOrDefault(builtin) ?? [];
                var foreign = (_builtins.GetValueOrDefault(builtin) ?? []).Where(h => h is null);
                _builtins[builtin] = [.. hooks.Select(h => (string?)h.Hash), .. foreign];
            }
        }
        UpdateGauges();
    }

    /// <summary>After a chains-only batch: the chains we want are programmed; the hooks and removals are still to write.</summary>
    private void CommitDesiredChains()
    {
        foreach (var name in _dirty.Where(_desired.ContainsKey).ToList())
        {
            _programmed[name] = [.. _desired[name].Rules.Select(r => r.Hash)];
            _dirty.Remove(name);
        }
        UpdateGauges();
    }

    private void MarkInStep()
    {
        _dirty.Clear();
        _hooksDirty = false;
        FailingSince = null;
    }

    private async Task<CommandResult> RestoreAsync(RestoreBatch batch, CancellationToken cancellationToken)
    {
        _metrics.RestoreCalls.Inc();
        _metrics.LinesExecuted.Inc(batch.Lines);
        var command = new Command(_commands.Restore, _commands.RestoreArguments, batch.Input, _commands.RestoreTimeout);
        try
        {
            return await _runner.RunAsync(command, cancellationToken).ConfigureAwait(false);
        }
        catch (CommandException e)
        {
            return new CommandResult(-1, string.Empty, e.Message, TimeSpan.Zero);
        }
    }

    /// <summary>Built-in chains that should hold hooks or do hold some of ours (hooks no longer wanted are removed).</summary>
    private IEnumerable<string> HookedChains() =>
        _desiredHooks.Keys.Union(_builtins.Where(b => b.Value.Any(h => h is not null)).Select(b => b.Key), StringComparer.Ordinal);

    private bool HooksInPlace(string builtin)
    {
        var hooks = _desiredHooks.GetValueOrDefault(builtin) ?? [];
        var programmed = _builtins.GetValueOrDefault(builtin) ?? [];
        return programmed.Count(h => h is not null) == hooks.Count
            && hooks.Select((hook, i) => i < programmed.Count && programmed[i] == hook.Hash).All(ok => ok);
    }

    private static bool Same(List<string?> programmed, Chain chain) =>
        programmed.Count == chain.Rules.Length && chain.Rules.Select((r, i) => programmed[i] == r.Hash).All(ok => ok);

    private void UpdateGauges()
    {
        _metrics.Chains.Set(_programmed.Count);
        _metrics.Rules.Set(ProgrammedRules());
    }

    private TimeSpan Backoff(int failures) => RestoreRetry.Backoff(_options.InitialBackoff, _options.MaxBackoff, failures);

    /// <summary>The batch lines around the one the tool names ("line 7 failed", "Error occurred at line: 7").</summary>
    internal static string QuoteAround(string batch, string error)
    {
        var match = LineNumber().Match(error);
        return RestoreRetry.QuoteAround(batch,
            match.Success && int.TryParse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture, out var failed) ? failed : null);
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0];

    [GeneratedRegex(@"line:? (\d+)")]
    private static partial Regex LineNumber();

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Tool} refused the {Table} batch (attempt {Attempt} of {Max}): {Error}")]
    private static partial void LogRefusedAttempt(ILogger logger, string tool, string table, int attempt, int max, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Tool} refused the {Table} batch {Attempts} times; last error: {Error}; around the refused line: {Lines}")]
    private static partial void LogRefused(ILogger logger, string tool, string table, int attempts, string error, string lines);

    [LoggerMessage(Level = LogLevel.Debug, Message = "iptables {Table} (IPv{Version}): periodic read-back stopped to write a new change first")]
    private static partial void LogReadBackInterrupted(ILogger logger, string table, int version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading back with {Tool} failed: {Error}")]
    private static partial void LogReadBackFailed(ILogger logger, string tool, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "iptables {Table} (IPv{Version}, {Backend}): found {Programmed} felix chains programmed; {Dirty} chains to write or remove")]
    private static partial void LogAdopted(ILogger logger, string table, int version, string backend, int programmed, int dirty);

    [LoggerMessage(Level = LogLevel.Warning, Message = "iptables {Table} (IPv{Version}): read-back found {Chains} felix chains changed by someone else ({Names}); hooks moved or missing in: {Hooks}; repairing")]
    private static partial void LogDrift(ILogger logger, string table, int version, int chains, string names, string hooks);
}
