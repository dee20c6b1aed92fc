using Felix.Dataplane.Exec;
using Felix.Dataplane.Netlink;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Routes;

public sealed partial class InterfaceConfigurator
{
    /// <summary>
    /// Lists the links when needed (start, refresh, lost events), sets the global parameters when
    /// due, and configures every dirty wanted interface that is present, all in one netlink batch.
    /// False when something failed in this apply (logged and counted; it is retried after a delay
    /// that doubles per failure); an absent or vanished interface is not a failure.
    /// </summary>
    public bool Apply()
    {
        var now = _clock.GetTimestamp();
        if (now >= _nextRefresh)
        {
            _nextRefresh = _options.RefreshInterval > TimeSpan.Zero
                ? now + (long)(_options.RefreshInterval.TotalSeconds * _clock.TimestampFrequency)
                : long.MaxValue;
            (_listNeeded, _resendAll, _listRetry) = (true, true, default);
            (_globalsNeeded, _globalsRetry) = (true, default);
        }
        var ok = true;
        if (_listNeeded && _listRetry.NotBefore <= now)
        {
            // On failure, what the link events told us is still the best there is: carry on with it.
            ok &= TryListLinks();
        }
        if (_globalsNeeded && _globalsRetry.NotBefore <= now)
        {
            ok &= ApplyGlobals();
        }
        ok &= ConfigureDirty(now);
        UpdateGauges();
        return ok;
    }

    private bool TryListLinks()
    {
        IReadOnlyList<LinkInfo> links;
        try
        {
            links = _netlink.ListLinks();
        }
        catch (NetlinkException e)
        {
            _metrics.NetlinkErrors.WithLabels(NetlinkErrorMetric.Socket).Inc();
            _listRetry = Next(_listRetry, out var delay);
            LogListFailed(_logger, e.Message, delay.TotalSeconds);
            return false;
        }
        (_listNeeded, _listRetry) = (false, default);
        if (_resendAll)
        {
            // A new pass supersedes what is left of the last one.
            _recheck.Clear();
        }
        _links.Clear();
        _linkNames.Clear();
        _upSent.Clear();
        foreach (var link in links)
        {
            _links[link.Name] = link;
            _linkNames[link.Index] = link.Name;
        }
        var recheck = new List<string>();
        foreach (var (name, state) in _wanted)
        {
            if (!_links.TryGetValue(name, out var link) || state.ConfiguredIndex != link.Index)
            {
                // Absent, or a link that appeared without our seeing its event.
                state.ConfiguredIndex = 0;
                _dirty.Add(name);
            }
            else if (!link.IsUp)
            {
                _dirty.Add(name);
            }
            else if (_resendAll)
            {
                recheck.Add(name);
            }
        }
        recheck.Sort(StringComparer.Ordinal);
        recheck.ForEach(_recheck.Enqueue);
        _resendAll = false;
        return true;
    }

    private bool ConfigureDirty(long now)
    {
        PromoteRechecks();
        var ok = true;
        var batch = new List<NetlinkRequest>();
        var pending = new List<Pending>();
        foreach (var name in _dirty.Order(StringComparer.Ordinal).ToList())
        {
            var state = _wanted[name];
            if (!_links.TryGetValue(name, out var link) || state.Retry.NotBefore > now)
            {
                continue;
            }
            var changes = new List<string>();
            string? error = null;
            switch (ConfigureSysctls(state.Spec, changes, ref error))
            {
                case Outcome.Missing:
                    Vanished(name, link.Index, "its kernel parameters are gone");
                    continue;
                case Outcome.Failed:
                    ok = false;
                    state.Retry = Next(state.Retry, out var delay);
                    LogSysctlFailed(_logger, name, error ?? "(unknown)", delay.TotalSeconds);
                    continue;
            }
            var first = batch.Count;
            AddRequests(batch, state.Spec, link);
            pending.Add(new Pending(state, link, first, batch.Count - first, changes));
        }
        if (batch.Count == 0)
        {
            pending.ForEach(p => Configured(p, batch));
            return ok;
        }
        IReadOnlyList<NetlinkError?> results;
        try
        {
            results = _netlink.Execute(batch);
        }
        catch (NetlinkException e)
        {
            _metrics.NetlinkErrors.WithLabels(NetlinkErrorMetric.Socket).Inc();
            var delay = TimeSpan.Zero;
            foreach (var p in pending)
            {
                p.State.Retry = Next(p.State.Retry, out delay);
            }
            LogBatchFailed(_logger, batch.Count, pending.Count, e.Message, delay.TotalSeconds);
            return false;
        }
        foreach (var p in pending)
        {
            ok &= Settle(p, batch, results);
        }
        return ok;
    }

    /// <summary>Up to the per-apply budget of a refresh's re-checks join the dirty interfaces (names no longer wanted cost nothing).</summary>
    private void PromoteRechecks()
    {
        var budget = _options.MaxRechecksPerApply;
        while (_recheck.TryPeek(out var name))
        {
            if (_wanted.ContainsKey(name) && !_dirty.Contains(name))
            {
                if (budget == 0)
                {
                    break;
                }
                _dirty.Add(name);
                budget--;
            }
            _recheck.Dequeue();
        }
    }

    /// <summary>The results of one interface's requests: a vanished link waits for its event; anything else refused is retried later.</summary>
    private bool Settle(Pending p, List<NetlinkRequest> batch, IReadOnlyList<NetlinkError?> results)
    {
        var name = p.State.Spec.Name;
        var refused = new List<int>();
        for (var i = p.First; i < p.First + p.Count; i++)
        {
            if (results[i] is { Errno: NetlinkError.NoSuchDevice })
            {
                Vanished(name, p.Link.Index, "netlink: no such device");
                return true;
            }
            if (results[i] is not null)
            {
                refused.Add(i);
            }
        }
        if (refused.Count == 0)
        {
            Configured(p, batch);
            return true;
        }
        p.State.Retry = Next(p.State.Retry, out var delay);
        foreach (var i in refused)
        {
            _metrics.NetlinkErrors.WithLabels(results[i]!.Name).Inc();
            LogRequestRefused(_logger, name, Describe(batch[i]), results[i]!.ToString(), delay.TotalSeconds);
        }
        return false;
    }

    private void Configured(Pending p, List<NetlinkRequest> batch)
    {
        var (state, link) = (p.State, p.Link);
        var name = state.Spec.Name;
        if (state.ConfiguredIndex == link.Index)
        {
            if (!link.IsUp)
            {
                p.Changes.Add("link up");
            }
            if (p.Changes.Count > 0)
            {
                LogRepaired(_logger, name, string.Join(", ", p.Changes));
            }
        }
        else if (p.Changes.Count == 0 && link.IsUp)
        {
            // Found as wanted (a restart): not worth a line per interface at start.
            LogAlreadyConfigured(_logger, name, link.Index);
        }
        else if (_logger.IsEnabled(LogLevel.Information))
        {
            var changes = p.Changes.Count == 0 ? "none changed" : string.Join(", ", p.Changes);
            var requests = string.Join(", ", batch.Skip(p.First).Take(p.Count).Select(Describe).DefaultIfEmpty("nothing to send"));
            LogConfigured(_logger, name, link.Index, changes, requests);
        }
        state.ConfiguredIndex = link.Index;
        state.Retry = default;
        _dirty.Remove(name);
        if (!link.IsUp)
        {
            _links[name] = link with { IsUp = true };
            _upSent.Add(link.Index);
        }
    }

    private void Vanished(string name, int index, string how)
    {
        LogVanished(_logger, name, index, how);
        Forget(name, index);
    }

    /// <summary>Link up first (taking a link down flushes its neighbour entries), then the neighbour entries, then the proxy entry.</summary>
    private void AddRequests(List<NetlinkRequest> batch, WorkloadInterface spec, LinkInfo link)
    {
        if (!link.IsUp)
        {
            batch.Add(new SetLinkUp(link.Index));
        }
        var ipv6On = Ipv6On(spec);
        if (spec.Mac is { } mac)
        {
            var linkAddress = mac.GetAddressBytes();
            foreach (var address in ipv6On ? spec.Ipv4Addresses.Concat(spec.Ipv6Addresses) : spec.Ipv4Addresses)
            {
                batch.Add(new ReplaceNeighbor(link.Index, address, linkAddress));
            }
        }
        if (ipv6On && spec.Ipv6Gateway is { } gateway)
        {
            batch.Add(new ReplaceProxyNeighbor(link.Index, gateway));
        }
    }

    private bool Ipv6On(WorkloadInterface spec) => _options.Ipv6Support && _kernelHasIpv6 != false && spec.Ipv6Addresses.Count > 0;

    private Backoff Next(Backoff previous, out TimeSpan delay)
    {
        var failures = previous.Failures + 1;
        delay = RestoreRetry.Backoff(_options.InitialRetryDelay, _options.MaxRetryDelay, failures);
        return new Backoff(failures, _clock.GetTimestamp() + (long)(delay.TotalSeconds * _clock.TimestampFrequency));
    }

    private static string Describe(NetlinkRequest request) => request switch
    {
        SetLinkUp => "link up",
        ReplaceNeighbor n => $"neighbour {n.Address} at {Convert.ToHexString(n.LinkAddress)}",
        ReplaceProxyNeighbor p => $"proxy neighbour {p.Address}",
        _ => request.ToString(),
    };

    /// <summary>One interface's share of the netlink batch: requests <see cref="First"/> … <see cref="First"/> + <see cref="Count"/> − 1.</summary>
    private sealed record Pending(InterfaceState State, LinkInfo Link, int First, int Count, List<string> Changes);
}
