using System.Net;
using Felix.Dataplane.Netlink;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Routes;

/// <summary>Links by name and index, link events, and what a destination's route should be given them.</summary>
public sealed partial class RouteTable
{
    private readonly Dictionary<string, LinkInfo> _linksByName = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _linkNames = [];
    private readonly Dictionary<int, HashSet<IPNetwork>> _kernelByIndex = [];

    /// <summary>Destinations the kernel has a route of ours to, as recorded.</summary>
    private int _kernelCount;

    /// <summary>
    /// Records a link event (no I/O): a workload interface that appears or comes up has its routes
    /// programmed by the next apply; one that goes down or away has lost its routes in the kernel.
    /// <see cref="LinkEventsLost"/> has the next apply list the links and read back the routes.
    /// </summary>
    public void OnLinkEvent(LinkEvent linkEvent)
    {
        ArgumentNullException.ThrowIfNull(linkEvent);
        switch (linkEvent)
        {
            case LinkUpdated updated:
                HeardOf(updated.Link.Name);
                if (_linkNames.TryGetValue(updated.Link.Index, out var oldName))
                {
                    HeardOf(oldName);
                }
                OnLinkUpdated(updated.Link);
                break;
            case LinkDeleted deleted:
                HeardOf(deleted.Name);
                OnLinkGone(deleted.Index);
                break;
            case LinkEventsLost:
                LogEventsLost(_logger, (int)_version);
                (_readBackNeeded, _linksListNeeded) = (true, true);
                break;
        }
    }

    private void OnLinkUpdated(LinkInfo link)
    {
        var renamedFrom = _linkNames.TryGetValue(link.Index, out var oldName) && oldName != link.Name ? oldName : null;
        var previous = _linksByName.GetValueOrDefault(link.Name);
        if (renamedFrom is not null)
        {
            _linksByName.Remove(renamedFrom);
        }
        if (previous is not null && previous.Index != link.Index)
        {
            // Recreated, its delete event not seen yet: the old link took its routes with it.
            _linkNames.Remove(previous.Index);
            ClearKernelOn(previous.Index);
        }
        _linksByName[link.Name] = link;
        _linkNames[link.Index] = link.Name;
        if (renamedFrom is not null)
        {
            // The routes stay on the index, but they are now out of another name.
            MarkInterfaceDirty(renamedFrom);
            MarkKernelDirty(link.Index);
        }
        if (previous is { IsUp: true } && previous.Index == link.Index && !link.IsUp)
        {
            // The kernel drops the routes through a link that goes down, in both families.
            ClearKernelOn(link.Index);
            MarkInterfaceDirty(link.Name);
            OnUplinkLost(link.Name);
        }
        else if (!link.IsUp)
        {
            // Down as recorded, or not recorded at this index (it changed unheard of, or the record has
            // it under no name): any route of ours recorded through it is gone all the same.
            ClearKernelOn(link.Index);
        }
        else if (link.IsUp && (previous is null || !previous.IsUp || previous.Index != link.Index))
        {
            MarkInterfaceDirty(link.Name);
            if (!_byInterface.ContainsKey(link.Name))
            {
                // Not a workload's: perhaps the link an unreachable gateway is on.
                RetryUnreachable();
            }
        }
        else if (link.IsUp && !_byInterface.ContainsKey(link.Name))
        {
            // Up as recorded, but a refresh checks only the links our routes go out of: it may have
            // gone down and up unheard of, and be where an unreachable gateway is. A retry is cheap.
            RetryUnreachable();
        }
    }

    private void OnLinkGone(int index)
    {
        if (_linkNames.Remove(index, out var name))
        {
            if (_linksByName.TryGetValue(name, out var link) && link.Index == index)
            {
                _linksByName.Remove(name);
            }
            MarkInterfaceDirty(name);
            OnUplinkLost(name);
        }
        ClearKernelOn(index);
    }

    /// <summary>
    /// A remote route written by us is recorded without the link the kernel chose for its gateway,
    /// so when a link that is not a workload's goes down or away (perhaps that uplink), a read-back
    /// finds which remote routes went with it.
    /// </summary>
    private void OnUplinkLost(string name)
    {
        if (_byRemote.Count > 0 && !_byInterface.ContainsKey(name))
        {
            _readBackNeeded = true;
        }
    }

    /// <summary>A link became usable: gateways the kernel found unreachable may be reachable now.</summary>
    private void RetryUnreachable()
    {
        foreach (var destination in _unreachable)
        {
            if (_routes.TryGetValue(destination, out var state))
            {
                state.UnreachableGateway = null;
                MarkDirty(state);
            }
        }
        _unreachable.Clear();
    }

    private void MarkInterfaceDirty(string name)
    {
        if (_byInterface.TryGetValue(name, out var destinations))
        {
            foreach (var destination in destinations)
            {
                MarkDirty(_routes[destination]);
            }
        }
    }

    private void MarkKernelDirty(int index)
    {
        if (_kernelByIndex.TryGetValue(index, out var destinations))
        {
            foreach (var destination in destinations.ToList())
            {
                MarkDirty(_routes[destination]);
            }
        }
    }

    /// <summary>The kernel removed every route through the link: forget ours.</summary>
    private void ClearKernelOn(int index)
    {
        if (!_kernelByIndex.Remove(index, out var destinations))
        {
            return;
        }
        foreach (var destination in destinations)
        {
            var state = _routes[destination];
            if (state.Kernel is not null)
            {
                _kernelCount--;
            }
            state.Kernel = null;
            MarkDirty(state);
        }
    }

    /// <summary>Records the route the kernel holds for the destination (null: none of ours).</summary>
    private void SetKernel(RouteState state, RouteSpec? route)
    {
        if (state.Kernel is { InterfaceIndex: not 0 } old && _kernelByIndex.TryGetValue(old.InterfaceIndex, out var before))
        {
            before.Remove(state.Destination);
            if (before.Count == 0)
            {
                _kernelByIndex.Remove(old.InterfaceIndex);
            }
        }
        _kernelCount += (route is null ? 0 : 1) - (state.Kernel is null ? 0 : 1);
        state.Kernel = route;
        if (route is { InterfaceIndex: not 0 })
        {
            if (!_kernelByIndex.TryGetValue(route.InterfaceIndex, out var after))
            {
                _kernelByIndex[route.InterfaceIndex] = after = [];
            }
            after.Add(state.Destination);
        }
    }

    /// <summary>
    /// The route to program for the destination now, or null: nothing wants it, or what wants it
    /// waits (its interface absent or down, its gateway found unreachable, a foreign route in its place).
    /// </summary>
    private RouteSpec? DesiredSpec(RouteState state, RouteTarget? winner)
    {
        if (winner is not { } target || state.ForeignHeld)
        {
            return null;
        }
        if (target.Gateway is { } gateway)
        {
            return gateway.Equals(state.UnreachableGateway)
                ? null
                : new RouteSpec(state.Destination, 0, gateway, false, RouteScope.Universe, _protocol);
        }
        return _linksByName.TryGetValue(target.Interface!, out var link) && link.IsUp
            ? new RouteSpec(state.Destination, link.Index, null, false, _deviceScope, _protocol)
            : null;
    }

    /// <summary>
    /// What <c>Matches(state.Kernel, DesiredSpec(state, winner))</c> says, without building the spec:
    /// a refresh asks it of every destination (100k at scale). Null when nothing is desired now.
    /// </summary>
    private bool? KernelMatchesDesired(RouteState state, RouteTarget? winner)
    {
        if (winner is not { } target || state.ForeignHeld)
        {
            return null;
        }
        var kernel = state.Kernel;
        if (target.Gateway is { } gateway)
        {
            return gateway.Equals(state.UnreachableGateway)
                ? null
                : kernel is not null && kernel.Scope == RouteScope.Universe && !kernel.OnLink && Equals(kernel.Gateway, gateway);
        }
        return _linksByName.TryGetValue(target.Interface!, out var link) && link.IsUp
            ? kernel is not null && kernel.Scope == _deviceScope && !kernel.OnLink && kernel.Gateway is null && kernel.InterfaceIndex == link.Index
            : null;
    }

    /// <summary>Whether the kernel's route is the one wanted; a gateway route's link is the kernel's choice.</summary>
    private static bool Matches(RouteSpec kernel, RouteSpec desired) =>
        kernel.Scope == desired.Scope && kernel.OnLink == desired.OnLink && Equals(kernel.Gateway, desired.Gateway)
        && (desired.Gateway is not null || kernel.InterfaceIndex == desired.InterfaceIndex);

    private RouteTarget TargetOf(RouteSpec kernel) =>
        kernel.Gateway is not null
            ? new RouteTarget(null, kernel.Gateway)
            : new RouteTarget(_linkNames.GetValueOrDefault(kernel.InterfaceIndex), null);

    /// <summary>What the address was last routed to: on purpose, else whatever our route in the kernel says.</summary>
    private RouteTarget? Previous(RouteState state) => state.Wanted ?? (state.Kernel is { } kernel ? TargetOf(kernel) : null);

    /// <summary>Whether an apply has nothing to do for the destination.</summary>
    private bool InStep(RouteState state)
    {
        if (state.FlushPending)
        {
            return false;
        }
        var winner = state.Winner;
        if (Previous(state) is { } previous && previous != winner)
        {
            return false;
        }
        if (KernelMatchesDesired(state, winner) is { } matches)
        {
            return matches;
        }
        // Waiting: a route of ours still through the wanted link (IPv6 may keep one on a down link) is left.
        return state.Kernel is null || (winner is not null && TargetOf(state.Kernel) == winner);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "routes (IPv{Version}): the kernel dropped link events; reading back links and routes")]
    private static partial void LogEventsLost(ILogger logger, int version);
}
