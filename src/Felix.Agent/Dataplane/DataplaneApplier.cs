using Felix.Dataplane.Ipsets;
using Felix.Dataplane.Iptables;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;

namespace Felix.Agent.Dataplane;

/// <summary>
/// Which parts of one apply succeeded (a part that did not is read back before its next attempt),
/// and when each was done, from the apply's start: the parts overlap, so the slowest is the apply's time.
/// </summary>
internal sealed record ApplyResult(bool IpSets, bool Iptables, bool Routes)
{
    public bool Succeeded => IpSets && Iptables && Routes;

    public TimeSpan IpSetsDone { get; init; }

    public TimeSpan IptablesDone { get; init; }

    public TimeSpan RoutesDone { get; init; }

    public override string ToString() =>
        Succeeded ? "ok" : string.Join(", ", new[] { IpSets ? null : "ipsets", Iptables ? null : "iptables", Routes ? null : "routes" }.OfType<string>()) + " failed";
}

/// <summary>
/// Design: the kernel objects of this host and the one order they are written in. Sets are created
/// and filled before the iptables tables load rules that match on them, and destroyed only after
/// the tables stopped using them; when the sets' only change is members of sets already in the
/// kernel (an endpoint coming or going, a tag changing), no rule depends on it, and that
/// <c>ipset restore</c> runs alongside the tables' <c>iptables-restore</c> instead of before it.
/// The routes and interface settings go through netlink, which shares nothing with those
/// processes, so they are applied alongside, on their own (one netlink socket serves them all, so
/// they take turns). The tables that must read back do so before any of
/// them writes (a save fetches every table, so it is cheapest then), and a read-back that is only
/// due waits while any table has changes to write. Each object keeps its own record of the kernel and
/// its own retries and read-backs; this class only orders them, reports which part failed and
/// has that part — and only that part — read back in full before its next attempt.
/// </summary>
internal sealed class DataplaneApplier(
    IpSets ipSets,
    IReadOnlyList<IptablesTable> tables,
    IReadOnlyList<RouteTable> routeTables,
    InterfaceConfigurator interfaces,
    TimeProvider clock)
{
    public IpSets IpSets => ipSets;

    public IReadOnlyList<IptablesTable> Tables => tables;

    public IReadOnlyList<RouteTable> RouteTables => routeTables;

    public InterfaceConfigurator Interfaces => interfaces;

    /// <summary>Whether an apply would do anything now (writes, due read-backs, retries whose delay is over).</summary>
    public bool HasPendingWork =>
        ipSets.HasPendingWork || tables.Any(t => t.HasPendingWork) || routeTables.Any(r => r.HasPendingWork) || interfaces.HasPendingWork;

    /// <summary>Since when the longest-failing part has failed without a success in between, and which; null when none is failing.</summary>
    public (DateTimeOffset Since, string Part)? Failing
    {
        get
        {
            (DateTimeOffset Since, string Part)? first = null;
            void Consider(DateTimeOffset? since, string part)
            {
                if (since is { } at && (first is null || at < first.Value.Since))
                {
                    first = (at, part);
                }
            }
            Consider(ipSets.FailingSince, "ipsets");
            foreach (var table in tables)
            {
                Consider(table.FailingSince, $"iptables IPv{(int)table.Version} {table.Table.ToRestoreName()}");
            }
            foreach (var table in routeTables)
            {
                Consider(table.FailingSince, $"routes IPv{(int)table.Version}");
            }
            return first;
        }
    }

    public void OnLinkEvent(LinkEvent linkEvent)
    {
        foreach (var table in routeTables)
        {
            table.OnLinkEvent(linkEvent);
        }
        interfaces.OnLinkEvent(linkEvent);
    }

    /// <param name="readBackInterrupt">Signalled when new input waits: an iptables read-back run only because all was idle stops for it.</param>
    /// <param name="cancellationToken">Cancels the programs run and the waits between attempts.</param>
    public async Task<ApplyResult> ApplyAsync(CancellationToken readBackInterrupt, CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();
        var routesDone = TimeSpan.Zero;
        var routes = Task.Run(async () =>
        {
            var ok = await ApplyRoutesAsync(cancellationToken);
            routesDone = clock.GetElapsedTime(started);
            return ok;
        }, cancellationToken);
        foreach (var table in tables)
        {
            // A failure here is retried, with backoff, by the table's own apply below.
            await table.ReadBackIfNeededAsync(cancellationToken);
        }
        // Started here, and awaited here only when it creates or rewrites a set the rules may need.
        var tablesWriting = tables.Any(t => t.HasChangesToWrite);
        var sets = ipSets.ChangesOnlyMembers
            ? ipSets.ApplyUpdatesAsync(tablesWriting, readBackInterrupt, cancellationToken)
            : Task.FromResult(await ipSets.ApplyUpdatesAsync(tablesWriting, readBackInterrupt, cancellationToken));
        var tablesOk = true;
        foreach (var table in tables)
        {
            var othersWriting = tables.Any(t => t != table && t.HasChangesToWrite);
            if (!await table.ApplyAsync(othersWriting, readBackInterrupt, cancellationToken))
            {
                tablesOk = false;
                table.RequestReadBack();
            }
        }
        var iptablesDone = clock.GetElapsedTime(started);
        var setsOk = await sets;
        // A table that failed may still hold rules matching sets we no longer want: destroying
        // them now would only be refused as in use.
        if (tablesOk)
        {
            setsOk &= await ipSets.ApplyDeletionsAsync(cancellationToken);
        }
        if (!setsOk)
        {
            ipSets.RequestReadBack();
        }
        var ipSetsDone = clock.GetElapsedTime(started);
        var routesOk = await routes;
        return new ApplyResult(setsOk, tablesOk, routesOk) { IpSetsDone = ipSetsDone, IptablesDone = iptablesDone, RoutesDone = routesDone };
    }

    private async Task<bool> ApplyRoutesAsync(CancellationToken cancellationToken)
    {
        // Interfaces first: a route through a link that is still down waits for its "up" event anyway.
        var ok = interfaces.Apply();
        if (!ok)
        {
            interfaces.RequestRefresh();
        }
        foreach (var table in routeTables)
        {
            if (!await table.ApplyAsync(cancellationToken))
            {
                ok = false;
                table.RequestReadBack();
            }
        }
        return ok;
    }
}
