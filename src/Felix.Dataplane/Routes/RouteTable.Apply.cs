using System.Net;
using Felix.Dataplane.Collections;
using Felix.Dataplane.Exec;
using Felix.Dataplane.Netlink;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Routes;

public sealed partial class RouteTable
{
    private const int MaxRefusalsLogged = 5;

    private readonly HashSet<IPAddress> _unreachableLogged = [];

    /// <summary>
    /// Brings the kernel in step with the desired routes, reading back first when needed: one
    /// pipelined batch for the destinations that changed; then conntrack flushes for addresses
    /// whose target changed, and a second batch routing those anew. A request the kernel refuses
    /// (other than for a link that just vanished or went down, a gateway it cannot reach, or a
    /// destination a foreign route holds, which wait without failing) is retried after a fresh read-back with capped backoff; true when every
    /// destination is in step, false after <see cref="RouteTableOptions.MaxAttempts"/> attempts.
    /// Flushes beyond <see cref="RouteTableOptions.MaxConntrackFlushesPerApply"/> are left for the
    /// next apply (<see cref="HasPendingWork"/> stays true).
    /// </summary>
    public async Task<bool> ApplyAsync(CancellationToken cancellationToken)
    {
        string? lastError = null;
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            if (attempt > 1)
            {
                await Task.Delay(RestoreRetry.Backoff(_options.InitialBackoff, _options.MaxBackoff, attempt - 1), _clock, cancellationToken)
                    .ConfigureAwait(false);
            }
            if ((_readBackNeeded || ReadBackDue) && !TryReadBack(out lastError))
            {
                continue;
            }
            if (_newlyWanted.Count > 0 && !TryLookUpNewlyWanted(out lastError))
            {
                continue;
            }
            lastError = Sync();
            if (lastError is null)
            {
                FailingSince = null;
                return true;
            }
            // Perhaps the record of the links is what was wrong: the next read-back lists them all.
            (_readBackNeeded, _linksListNeeded) = (true, true);
            LogRefusedAttempt(_logger, (int)_version, attempt, _options.MaxAttempts, lastError);
        }
        FailingSince ??= _clock.GetUtcNow();
        LogRefused(_logger, (int)_version, _options.MaxAttempts, lastError ?? "(none)");
        return false;
    }

    /// <summary>One pass over the dirty destinations; null when nothing was refused.</summary>
    private string? Sync()
    {
        if (_dirty.Count == 0 && _flushQueue.Count == 0 && _duplicates.Count == 0)
        {
            return null;
        }
        var started = _clock.GetTimestamp();
        var first = new RouteBatch();
        var again = new List<RouteState>();
        foreach (var duplicate in _duplicates)
        {
            first.Add(new DeleteRoute(duplicate), null, RouteStep.RemoveDuplicate, null, InterfaceOf(duplicate));
        }
        if (_duplicates.Count > 0)
        {
            // Deleting one of two routes that differ only in their metric may take either: look again.
            _duplicates.Clear();
            _readBackNeeded = true;
        }
        foreach (var destination in _dirty.Order(NetworkOrder.Instance).ToList())
        {
            Plan(_routes[destination], first, again);
        }
        var (error, socketFailed) = Execute(first, again);
        if (socketFailed)
        {
            // What the batch did is unknown: read back before flushing or adding anything.
            return error;
        }
        again.AddRange(FlushConntrack());
        var second = new RouteBatch();
        foreach (var state in again.Distinct().Where(s => _dirty.Contains(s.Destination)).OrderBy(s => s.Destination, NetworkOrder.Instance))
        {
            Plan(state, second, null);
        }
        error ??= Execute(second, null).Error;
        _dirty.ShrinkIfEmpty();
        var interfaces = first.Interfaces.Union(second.Interfaces).Count();
        var elapsed = _clock.GetElapsedTime(started).TotalSeconds;
        for (var i = 0; i < interfaces; i++)
        {
            _metrics.PerInterfaceSyncSeconds.Observe(elapsed / interfaces);
        }
        return error;
    }

    /// <summary>
    /// Adds the request the destination needs, if any, to <paramref name="batch"/>. An address whose
    /// target changed first loses its old route; its new one waits for the conntrack flush, or
    /// (not a single address: nothing to flush) for <paramref name="again"/>, the second batch.
    /// </summary>
    private void Plan(RouteState state, RouteBatch batch, List<RouteState>? again)
    {
        if (state.FlushPending)
        {
            return;
        }
        var winner = state.Winner;
        if (Previous(state) is { } previous && previous != winner)
        {
            if (state.Kernel is { } old)
            {
                batch.Add(new DeleteRoute(old), state, RouteStep.Leave, winner, InterfaceOf(old));
            }
            else
            {
                Left(state, again);
            }
            return;
        }
        var desired = DesiredSpec(state, winner);
        if (desired is not null && state.Kernel is null)
        {
            // Exclusive: a route of another protocol to the destination is not ours to replace.
            batch.Add(new AddRoute(desired), state, RouteStep.Program, winner, InterfaceOf(desired));
        }
        else if (desired is not null && !Matches(state.Kernel!, desired))
        {
            batch.Add(new ReplaceRoute(desired), state, RouteStep.Program, winner, InterfaceOf(desired));
        }
        else if (desired is null && state.Kernel is { } stale && (winner is null || TargetOf(stale) != winner))
        {
            batch.Add(new DeleteRoute(stale), state, RouteStep.Remove, winner, InterfaceOf(stale));
        }
        else
        {
            if (desired is not null)
            {
                state.Wanted = winner;
            }
            MarkDirty(state);
        }
    }

    /// <summary>The address's old route is gone: its flows are flushed before anything is routed to it anew.</summary>
    private void Left(RouteState state, List<RouteState>? again)
    {
        SetKernel(state, null);
        state.Wanted = null;
        if (state.IsHost)
        {
            state.FlushPending = true;
            _flushQueue.Enqueue(state.Destination);
        }
        else
        {
            again?.Add(state);
        }
    }

    private (string? Error, bool SocketFailed) Execute(RouteBatch batch, List<RouteState>? again)
    {
        if (batch.Requests.Count == 0)
        {
            return (null, false);
        }
        IReadOnlyList<NetlinkError?> results;
        try
        {
            results = _netlink.Execute(batch.Requests);
            if (results.Count != batch.Requests.Count)
            {
                throw new NetlinkException($"{results.Count} answers to {batch.Requests.Count} requests");
            }
        }
        catch (NetlinkException e)
        {
            _metrics.NetlinkErrors.WithLabels(NetlinkErrorMetric.Socket).Inc();
            return ($"netlink: {e.Message}", true);
        }
        var refused = 0;
        string? firstRefusal = null;
        List<RouteState>? placed = null;
        for (var i = 0; i < results.Count; i++)
        {
            var (state, step, winner) = batch.Entries[i];
            var request = batch.Requests[i];
            var result = results[i];
            if (result is not null)
            {
                _metrics.NetlinkErrors.WithLabels(result.Name).Inc();
            }
            var done = step switch
            {
                RouteStep.Program => OnProgrammed(state!, request is AddRoute add ? add.Route : ((ReplaceRoute)request).Route, winner, result),
                RouteStep.RemoveDuplicate => IsGone(result),
                _ => OnRemoved(state!, step, result, again),
            };
            if (step == RouteStep.Program && result is null && state!.Kernel is { Gateway: not null, InterfaceIndex: 0 })
            {
                (placed ??= []).Add(state);
            }
            if (!done)
            {
                refused++;
                var text = $"{Describe(request)}: {result}";
                firstRefusal ??= text;
                if (refused <= MaxRefusalsLogged)
                {
                    LogRequestRefused(_logger, text);
                }
            }
        }
        if (placed is not null)
        {
            PlaceGatewayRoutes(placed);
        }
        return (refused switch { 0 => null, 1 => firstRefusal, _ => $"{firstRefusal} (and {refused - 1} more)" }, false);
    }

    private bool OnProgrammed(RouteState state, RouteSpec route, RouteTarget? winner, NetlinkError? result)
    {
        switch (result?.Errno)
        {
            case null:
                SetKernel(state, route);
                state.Wanted = winner;
                state.ForeignLogged = false;
                if (route.Gateway is { } reached && _unreachableLogged.Remove(reached))
                {
                    LogGatewayReachable(_logger, reached);
                }
                MarkDirty(state);
                return true;
            case NetlinkError.NoSuchDevice when route.InterfaceIndex != 0:
                // Deleted since we last heard: its delete event is on the way, and a new link of that name will have its own.
                LogLinkVanished(_logger, state.Destination, route.InterfaceIndex, result.Name);
                OnLinkGone(route.InterfaceIndex);
                MarkDirty(state);
                return true;
            case NetlinkError.NetworkIsDown when route.InterfaceIndex != 0:
                LogLinkVanished(_logger, state.Destination, route.InterfaceIndex, result.Name);
                // Down since we last heard; its event is on the way and the kernel has dropped its routes.
                if (_linkNames.TryGetValue(route.InterfaceIndex, out var name) && _linksByName.TryGetValue(name, out var link)
                    && link.Index == route.InterfaceIndex)
                {
                    _linksByName[name] = link with { IsUp = false };
                    MarkInterfaceDirty(name);
                }
                ClearKernelOn(route.InterfaceIndex);
                MarkDirty(state);
                return true;
            case NetlinkError.Exists:
                if (!state.ForeignLogged)
                {
                    LogForeignRoute(_logger, state.Destination, winner?.ToString() ?? "(nothing)", result.ToString());
                    state.ForeignLogged = true;
                }
                state.ForeignHeld = true;
                _foreignHeld.Add(state.Destination);
                MarkDirty(state);
                return true;
            case NetlinkError.NetworkIsUnreachable when route.Gateway is { } gateway:
                if (_unreachableLogged.Add(gateway))
                {
                    LogGatewayUnreachable(_logger, gateway, state.Destination, result.ToString());
                }
                state.UnreachableGateway = gateway;
                _unreachable.Add(state.Destination);
                MarkDirty(state);
                return true;
            default:
                return false;
        }
    }

    private bool OnRemoved(RouteState state, RouteStep step, NetlinkError? result, List<RouteState>? again)
    {
        if (!IsGone(result))
        {
            return false;
        }
        if (step == RouteStep.Leave)
        {
            Left(state, again);
        }
        else
        {
            SetKernel(state, null);
            MarkDirty(state);
        }
        return true;
    }

    /// <summary>A delete that succeeded, or found the route (ESRCH) or its link (ENODEV) already gone.</summary>
    private static bool IsGone(NetlinkError? result) => result?.Errno is null or NetlinkError.NoSuchProcess or NetlinkError.NoSuchDevice;

    /// <summary>Flushes the conntrack entries of queued addresses, oldest first, in one listing; returns the states now free to be routed.</summary>
    private List<RouteState> FlushConntrack()
    {
        var flushed = new List<RouteState>();
        while (flushed.Count < _options.MaxConntrackFlushesPerApply && _flushQueue.TryDequeue(out var destination))
        {
            var state = _routes[destination];
            state.FlushPending = false;
            flushed.Add(state);
        }
        // A failure is logged by the flusher; the addresses are routed anew all the same, as an old flow is less harm than no route.
        _conntrack.Flush(_version, [.. flushed.Select(s => s.Destination.BaseAddress)]);
        return flushed;
    }

    private string InterfaceOf(RouteSpec route) =>
        route.Gateway is not null ? string.Empty : _linkNames.GetValueOrDefault(route.InterfaceIndex) ?? $"#{route.InterfaceIndex}";

    private string Describe(NetlinkRequest request) => request switch
    {
        AddRoute add => $"add {Describe(add.Route)}",
        ReplaceRoute replace => $"replace {Describe(replace.Route)}",
        DeleteRoute delete => $"delete {Describe(delete.Route)}",
        _ => request.ToString(),
    };

    private string Describe(RouteSpec route) =>
        route.Gateway is { } gateway
            ? $"{route.Destination} via {gateway} proto {route.Protocol}"
            : $"{route.Destination} dev {InterfaceOf(route)} proto {route.Protocol}";

    [LoggerMessage(Level = LogLevel.Warning, Message = "routes (IPv{Version}): the kernel refused some requests (attempt {Attempt} of {Max}): {Error}")]
    private static partial void LogRefusedAttempt(ILogger logger, int version, int attempt, int max, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "routes (IPv{Version}): the kernel refused requests {Attempts} times; last: {Error}")]
    private static partial void LogRefused(ILogger logger, int version, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route request refused: {Request}")]
    private static partial void LogRequestRefused(ILogger logger, string request);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Route to {Destination}: link {Index} is gone or down ({Error}); waiting for it to come up")]
    private static partial void LogLinkVanished(ILogger logger, IPNetwork destination, int index, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway {Gateway} is not on any local link ({Error}, first for {Destination}); remote routes via it wait until links change or the next refresh")]
    private static partial void LogGatewayUnreachable(ILogger logger, IPAddress gateway, IPNetwork destination, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route to {Destination} ({Target}) not added: a route the agent does not own holds the destination ({Error}); it is left alone, and the add is tried again at each refresh")]
    private static partial void LogForeignRoute(ILogger logger, IPNetwork destination, string target, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway {Gateway} is reachable again; routing via it")]
    private static partial void LogGatewayReachable(ILogger logger, IPAddress gateway);
}

internal enum RouteStep
{
    Program,
    Remove,
    Leave,
    RemoveDuplicate,
}

/// <summary>The requests of one <see cref="IRouteNetlink.Execute"/>, each with the destination and step it is for.</summary>
internal sealed class RouteBatch
{
    public List<NetlinkRequest> Requests { get; } = [];

    public List<(RouteState? State, RouteStep Step, RouteTarget? Winner)> Entries { get; } = [];

    /// <summary>The interfaces the batch touches (<c>""</c>: routes via a gateway), for the per-interface metric.</summary>
    public HashSet<string> Interfaces { get; } = new(StringComparer.Ordinal);

    public void Add(NetlinkRequest request, RouteState? state, RouteStep step, RouteTarget? winner, string interfaceName)
    {
        Requests.Add(request);
        Entries.Add((state, step, winner));
        Interfaces.Add(interfaceName);
    }
}
