using Felix.Dataplane.Exec;

namespace Felix.Dataplane.Iptables;

public sealed partial class IptablesTable
{
    /// <summary>
    /// Reads back now if the table must before its next write (at start, after a failure, on
    /// request); a read-back that is merely due is left to <see cref="ApplyAsync(bool, CancellationToken)"/>.
    /// iptables-nft-save of one table fetches every table of the family, so at start the tables
    /// read back before any of them writes: the nat table costs milliseconds then, and over a
    /// second after the filter table has been given 20k chains. False when the read-back failed.
    /// </summary>
    public async Task<bool> ReadBackIfNeededAsync(CancellationToken cancellationToken) =>
        !_readBackNeeded || await TryReadBackAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// The read-back of <see cref="InterruptibleReadBack"/>'s rule: idle means no changes to write
    /// here nor, when <paramref name="othersWriting"/>, in another table. With nft a save costs
    /// seconds at scale (1.5 s or more at 10k endpoints).
    /// </summary>
    private ReadBackPlan PlanReadBack(bool othersWriting) =>
        InterruptibleReadBack.Plan(_readBackNeeded, ReadBackDue, idle: _dirty.Count == 0 && !_hooksDirty && !othersWriting,
            InterruptibleReadBack.Overdue(_clock, _nextReadBack, _options.RefreshInterval));

    private void OnReadBackInterrupted()
    {
        _metrics.SavesInterrupted.Inc();
        LogReadBackInterrupted(_logger, _tableName, (int)_commands.Version);
    }

    /// <summary>Reads back what is programmed and marks for repair whatever differs from the desired state.</summary>
    public async Task<bool> TryReadBackAsync(CancellationToken cancellationToken)
    {
        _metrics.SaveCalls.Inc();
        var reader = new SavedTable.Reader(_table);
        var command = new Command(_commands.Save, ["-t", _tableName], null, IptablesCommands.SaveTimeout, reader);
        CommandResult result;
        try
        {
            result = await _runner.RunAsync(command, cancellationToken).ConfigureAwait(false);
        }
        catch (CommandException e)
        {
            LogReadBackFailed(_logger, _commands.Save, e.Message);
            return false;
        }
        _lastSave = result.Duration;
        if (!result.Succeeded)
        {
            LogReadBackFailed(_logger, _commands.Save, FirstLine(result.StandardError));
            return false;
        }
        SavedTable saved;
        try
        {
            saved = reader.Finish();
        }
        catch (FormatException e)
        {
            LogReadBackFailed(_logger, _commands.Save, e.Message);
            return false;
        }
        Adopt(saved);
        _readBackNeeded = false;
        ScheduleNextReadBack();
        return true;
    }

    private void Adopt(SavedTable saved)
    {
        _programmed.Clear();
        _builtins.Clear();
        _foreignReferenced.Clear();
        _foreignRules = 0;
        foreach (var chain in saved.Chains.Values)
        {
            var hashes = chain.Rules.Select(r => r.Hash).ToList();
            if (chain.Name.StartsWith(OwnedPrefix, StringComparison.Ordinal))
            {
                // A chain as we want it keeps our own name and hash strings, not the save's copies:
                // at 10k endpoints that is 166k strings fewer held between read-backs.
                if (_desired.TryGetValue(chain.Name, out var wanted) && Same(hashes, wanted))
                {
                    _programmed[wanted.Name] = [.. wanted.Rules.Select(r => r.Hash)];
                }
                else
                {
                    _programmed[chain.Name] = hashes;
                }
                continue;
            }
            if (chain.IsBuiltin)
            {
                _builtins[chain.Name] = hashes;
            }
            _foreignRules += hashes.Count(h => h is null);
            foreach (var rule in chain.Rules.Where(r => r.Hash is null && r.Target is not null))
            {
                _foreignReferenced.Add(rule.Target!);
            }
        }
        _dirty.Clear();
        foreach (var (name, chain) in _desired)
        {
            if (!_programmed.TryGetValue(name, out var hashes) || !Same(hashes, chain))
            {
                _dirty.Add(name);
            }
        }
        foreach (var name in _programmed.Keys.Where(n => !_desired.ContainsKey(n)))
        {
            if (_programmed[name].Count > 0 || !_foreignReferenced.Contains(name))
            {
                _dirty.Add(name);
            }
        }
        var hooksMoved = HookedChains().Where(b => !HooksInPlace(b)).ToList();
        _hooksDirty = hooksMoved.Count > 0;
        if (!_adopted)
        {
            LogAdopted(_logger, _tableName, (int)_commands.Version, _commands.BackendName, _programmed.Count, _dirty.Count);
            _adopted = true;
        }
        else if (_dirty.Count > 0 || _hooksDirty)
        {
            // Named, so an operator can tell which object someone changed by hand and go and ask who.
            LogDrift(_logger, _tableName, (int)_commands.Version, _dirty.Count, NamesForLog(_dirty),
                _hooksDirty ? NamesForLog(hooksMoved) : "none");
        }
        UpdateGauges();
    }

    /// <summary>At most <see cref="MaxNamesLogged"/> names, sorted, and how many more: a whole flushed table is one readable line.</summary>
    private static string NamesForLog(IReadOnlyCollection<string> names)
    {
        if (names.Count == 0)
        {
            return "none";
        }
        var shown = string.Join(", ", names.Order(StringComparer.Ordinal).Take(MaxNamesLogged));
        return names.Count > MaxNamesLogged ? $"{shown} and {names.Count - MaxNamesLogged} more" : shown;
    }

    private const int MaxNamesLogged = 10;

    /// <summary>
    /// Whether <paramref name="batch"/> should start with the listing of <see cref="RestoreBatch.ListFirst"/>:
    /// with nft only, when the chain-list searches it saves (lines × chains / 2 comparisons) are worth
    /// more than listing the table as it is. Measured with iptables-nft 1.8.9: listing one rule costs
    /// about as much as <see cref="ComparisonsPerListedRule"/> comparisons (a 144k-line listing took
    /// 13 s; 2.6 G comparisons, 12 s). An empty table lists for nothing, so a cold start always
    /// lists; one endpoint's few lines never do.
    /// </summary>
    private bool ListingPaysOff(RestoreBatch batch)
    {
        if (_commands.Backend != IptablesBackendKind.Nft)
        {
            return false;
        }
        var searches = (double)batch.Lines * batch.Chains / 2;
        var listing = (double)ComparisonsPerListedRule * (_foreignRules + ProgrammedRules());
        return searches > Math.Max(MinimumSearchesToList, listing);
    }

    private const int ComparisonsPerListedRule = 20_000;

    /// <summary>About 5 ms of comparisons: below that a batch is not worth a second look.</summary>
    private const double MinimumSearchesToList = 1_000_000;

    private void SchedulePostWriteReadBack()
    {
        _postWriteDelay = _options.PostWriteReadBack;
        ScheduleNextReadBack();
    }

    /// <summary>
    /// After a write, read back at growing intervals (1 s, 2 s, 4 s, …) to catch another program
    /// that rewrites the tables right after us; once that reaches the refresh interval, every
    /// refresh interval. Zero turns the periodic read-back off (post-write checks stop at a minute).
    /// At scale a read-back is not cheap — iptables-nft-save of 20k chains takes 5–14 s, during
    /// which no change is written — so a post-write read-back also waits at least
    /// <see cref="IptablesTableOptions.ReadBackCostFactor"/> times what the last read-back (or
    /// write, for a table that has only been read back empty) took: read-backs take at most about
    /// a tenth of the time, and at 10k endpoints only the refresh interval's remain.
    /// </summary>
    private void ScheduleNextReadBack()
    {
        var ceiling = _options.RefreshInterval > TimeSpan.Zero ? _options.RefreshInterval : TimeSpan.FromMinutes(1);
        var cost = (_lastSave > _lastRestore ? _lastSave : _lastRestore) * _options.ReadBackCostFactor;
        TimeSpan delay;
        if (_postWriteDelay > TimeSpan.Zero && _postWriteDelay < ceiling && cost < ceiling)
        {
            delay = _postWriteDelay > cost ? _postWriteDelay : cost;
            _postWriteDelay *= 2;
        }
        else
        {
            delay = _options.RefreshInterval;
            _postWriteDelay = TimeSpan.Zero;
        }
        _nextReadBack = delay == TimeSpan.Zero
            ? long.MaxValue
            : _clock.GetTimestamp() + (long)(delay.TotalSeconds * _clock.TimestampFrequency);
    }

    private int ProgrammedRules() =>
        _programmed.Values.Sum(c => c.Count) + _builtins.Values.Sum(c => c.Count(h => h is not null));
}
