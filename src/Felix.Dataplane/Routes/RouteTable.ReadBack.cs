using System.Net;
using Felix.Dataplane.Netlink;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Routes;

public sealed partial class RouteTable
{
    private int _readBackGeneration;

    /// <summary>
    /// Dumps our routes (and lists the links, or looks up those that need it) and recomputes what
    /// differs from the desired state; the record of the kernel is replaced (an unchanged route keeps
    /// its record), so anything someone else did is seen.
    /// </summary>
    private bool TryReadBack(out string? error)
    {
        var started = _clock.GetTimestamp();
        IReadOnlyList<LinkInfo>? links = null;
        IReadOnlyList<RouteSpec> routes;
        try
        {
            if (_linksListNeeded)
            {
                links = _netlink.ListLinks();
            }
            routes = _netlink.ListRoutes(_version, _protocol);
            if (links is null)
            {
                VerifyLinks(routes);
            }
        }
        catch (NetlinkException e)
        {
            _metrics.NetlinkErrors.WithLabels(NetlinkErrorMetric.Socket).Inc();
            _linksListNeeded = true;
            error = $"read-back failed: {e.Message}";
            LogReadBackFailed(_logger, (int)_version, e.Message);
            return false;
        }
        _metrics.ListSeconds.Observe(_clock.GetElapsedTime(started).TotalSeconds);
        if (links is not null)
        {
            RecordLinks(links);
            _linksListNeeded = false;
        }
        MarkChecked(listed: links is not null);
        Adopt(routes);
        _readBackNeeded = false;
        _nextReadBack = _options.RefreshInterval > TimeSpan.Zero
            ? _clock.GetTimestamp() + (long)(_options.RefreshInterval.TotalSeconds * _clock.TimestampFrequency)
            : long.MaxValue;
        error = null;
        return true;
    }

    private void Adopt(IReadOnlyList<RouteSpec> routes)
    {
        var wasInStep = _dirty.Count == 0;
        // A read-back usually finds what we already hold: an unchanged route keeps its record and its
        // place in the per-link index, so a refresh of 100k routes costs lookups, not rebuilds.
        var generation = ++_readBackGeneration;
        foreach (var state in _routes.Values)
        {
            state.UnreachableGateway = null;
            // Tried again: the foreign route may have gone.
            state.ForeignHeld = false;
        }
        _unreachable.Clear();
        _duplicates.Clear();
        foreach (var route in routes)
        {
            if (!IsOurs(route))
            {
                continue;
            }
            var state = StateOf(route.Destination);
            if (state.ReadBackGeneration != generation)
            {
                state.ReadBackGeneration = generation;
                if (!route.Equals(state.Kernel))
                {
                    SetKernel(state, route);
                }
                continue;
            }
            // Two of ours to one destination (different metrics): keep the wanted one, delete the other.
            var held = state.Kernel!;
            if (DesiredSpec(state, state.Winner) is { } desired && Matches(route, desired) && !Matches(held, desired))
            {
                _duplicates.Add(held);
                SetKernel(state, route);
            }
            else
            {
                _duplicates.Add(route);
            }
        }
        _dirty.Clear();
        List<IPNetwork>? idle = null;
        foreach (var state in _routes.Values)
        {
            if (state.ReadBackGeneration != generation && state.Kernel is not null)
            {
                SetKernel(state, null);
            }
            // The address is routed there now: should the route go before we touch it, its flows must still be flushed.
            if (state.Kernel is { } held)
            {
                state.Wanted ??= TargetOf(held);
            }
            if (!InStep(state))
            {
                _dirty.Add(state.Destination);
            }
            else if (state.IsIdle)
            {
                (idle ??= []).Add(state.Destination);
            }
        }
        idle?.ForEach(d => _routes.Remove(d));
        var changed = _dirty.Count + _duplicates.Count;
        if (!_adopted)
        {
            var programmed = _routes.Values.Count(s => s.Kernel is not null);
            LogAdopted(_logger, (int)_version, programmed, _protocol, _linkNames.Count, changed);
            _adopted = true;
        }
        else if (wasInStep && changed > 0)
        {
            LogDrift(_logger, (int)_version, changed,
                string.Join(", ", _dirty.Order(NetworkOrder.Instance).Take(10).Concat(_duplicates.Select(d => d.Destination))));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "routes (IPv{Version}): reading back links and routes failed: {Error}")]
    private static partial void LogReadBackFailed(ILogger logger, int version, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "routes (IPv{Version}): found {Programmed} routes of protocol {Protocol} over {Links} links; {Changed} destinations to route, move or remove")]
    private static partial void LogAdopted(ILogger logger, int version, int programmed, byte protocol, int links, int changed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "routes (IPv{Version}): read-back found {Count} destinations changed by someone else ({Destinations}); repairing")]
    private static partial void LogDrift(ILogger logger, int version, int count, string destinations);
}
