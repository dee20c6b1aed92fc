using System.Net;
using Felix.Dataplane.Netlink;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Routes;

public sealed partial class RouteTable
{
    /// <summary>The routes a read-back dumped that are not as recorded: one list kept, not 100k entries' worth on the large object heap each time.</summary>
    private readonly List<RouteSpec> _dumped = [];

    /// <summary>The destinations an adopt looks at again when it need not look at them all.</summary>
    private readonly List<RouteState> _recheck = [];

    /// <summary>Destinations a route of another protocol holds (<see cref="RouteState.ForeignHeld"/>): tried again at each read-back.</summary>
    private readonly HashSet<IPNetwork> _foreignHeld = [];

    private int _readBackGeneration;

    /// <summary>Routes of the current dump found as recorded (<see cref="KnownRoutes"/>).</summary>
    private int _heldCount;

    /// <summary>
    /// Dumps our routes (and lists the links, or looks up those that need it) and recomputes what
    /// differs from the desired state; the record of the kernel is replaced (an unchanged route keeps
    /// its record), so anything someone else did is seen.
    /// </summary>
    private bool TryReadBack(out string? error)
    {
        var started = _clock.GetTimestamp();
        IReadOnlyList<LinkInfo>? links = null;
        var kernelBefore = _kernelCount;
        var linksChanged = false;
        try
        {
            if (_linksListNeeded)
            {
                links = _netlink.ListLinks();
            }
            // Routes found as recorded are only counted (and their links noted); the others are listed.
            // The dump starts here, whether or not the implementation says so (it must say so again when it starts over).
            _known.DumpStarting();
            _netlink.ListRoutes(_version, _protocol, _known, _dumped);
            foreach (var route in _dumped)
            {
                if (route.InterfaceIndex != 0 && IsOurs(route))
                {
                    _carrying.Add(route.InterfaceIndex);
                }
            }
            if (links is null)
            {
                linksChanged = VerifyLinks();
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
        Adopt(_dumped, kernelBefore, everything: links is not null || linksChanged || !_adopted);
        // Not kept alive till the next read-back: a route replaced since would be held for nothing.
        _dumped.Clear();
        _readBackNeeded = false;
        _nextReadBack = _options.RefreshInterval > TimeSpan.Zero
            ? _clock.GetTimestamp() + (long)(_options.RefreshInterval.TotalSeconds * _clock.TimestampFrequency)
            : long.MaxValue;
        error = null;
        return true;
    }

    /// <summary>
    /// Takes in a dump: the routes <see cref="KnownRoutes"/> found as recorded, and
    /// <paramref name="others"/>, new, changed or second routes to a destination. Whether a
    /// destination is in step depends on its record and on the links; so when no link changed and
    /// every recorded route was found, only the destinations whose record changed, that were not in
    /// step, or that were waiting on a foreign route or an unreachable gateway (tried again at each
    /// read-back) are looked at again, not all 100k. Otherwise (<paramref name="everything"/>, or a
    /// route gone) every destination is.
    /// </summary>
    private void Adopt(List<RouteSpec> others, int kernelBefore, bool everything)
    {
        var wasInStep = _dirty.Count == 0;
        var generation = _readBackGeneration;
        _recheck.Clear();
        foreach (var destination in _unreachable.Concat(_foreignHeld))
        {
            if (_routes.TryGetValue(destination, out var state))
            {
                state.UnreachableGateway = null;
                // Tried again: the foreign route may have gone.
                state.ForeignHeld = false;
                _recheck.Add(state);
            }
        }
        _unreachable.Clear();
        _foreignHeld.Clear();
        _duplicates.Clear();
        var found = _heldCount;
        foreach (var route in others)
        {
            if (!IsOurs(route))
            {
                continue;
            }
            var state = StateOf(route.Destination);
            _recheck.Add(state);
            if (state.ReadBackGeneration != generation)
            {
                state.ReadBackGeneration = generation;
                found += state.Kernel is null ? 0 : 1;
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
        IEnumerable<RouteState> look;
        if (everything || found != kernelBefore)
        {
            _dirty.Clear();
            look = _routes.Values;
        }
        else
        {
            foreach (var destination in _dirty)
            {
                if (_routes.TryGetValue(destination, out var state))
                {
                    _recheck.Add(state);
                }
            }
            look = _recheck;
        }
        List<IPNetwork>? idle = null;
        foreach (var state in look)
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
            else
            {
                _dirty.Remove(state.Destination);
                if (state.IsIdle)
                {
                    (idle ??= []).Add(state.Destination);
                }
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
