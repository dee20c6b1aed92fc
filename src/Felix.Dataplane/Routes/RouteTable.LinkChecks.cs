using Felix.Dataplane.Netlink;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Routes;

/// <summary>
/// Keeping the record of the links true without listing them all: a listing costs the kernel
/// several microseconds per link (over 100 ms at 20k links), so it is done only at start, after
/// lost link events and after a failure; between listings the record follows the link events, a
/// read-back checks it against the kernel wherever the routes it dumped do not vouch for it, and
/// an interface that becomes wanted is looked up before its routes are planned.
/// </summary>
public sealed partial class RouteTable
{
    /// <summary>The links the routes of the current dump go out of.</summary>
    private readonly HashSet<int> _carrying = [];
    private readonly HashSet<int> _vouchedFor = [];

    /// <summary>
    /// Names whose record is as the kernel had it at the last read-back, or has been since: after
    /// a listing every name (<see cref="_allChecked"/>); after a refresh the wanted ones, and any
    /// name an event or a lookup has told of since.
    /// </summary>
    private readonly HashSet<string> _checked = new(StringComparer.Ordinal);

    /// <summary>Interfaces that became wanted since the last read-back and whose record is not checked: the next apply looks them up.</summary>
    private readonly HashSet<string> _newlyWanted = new(StringComparer.Ordinal);

    private bool _allChecked;

    /// <summary>Whether the next read-back lists every link: at start, after lost link events and after a failure.</summary>
    private bool _linksListNeeded = true;

    private void RecordLinks(IReadOnlyList<LinkInfo> links)
    {
        _linksByName.Clear();
        _linkNames.Clear();
        foreach (var link in links)
        {
            _linksByName[link.Name] = link;
            _linkNames[link.Index] = link.Name;
        }
    }

    /// <summary>
    /// Brings the record of the links our routes depend on up to date without listing them all
    /// (the kernel takes several microseconds to describe each link: over 100 ms at 20k). A
    /// wanted interface whose recorded link is up and carries a route of ours in the dump just read
    /// is there and still up: the kernel removes a link's routes when it goes down or away, and a
    /// link that comes back, or another of its name, has a new index. The same goes for any link
    /// recorded up that carries our routes (an uplink, for remote routes). Every other wanted
    /// interface is looked up by name, and every other link our routes go out of, now or as last
    /// recorded, by index. Other links are as the listing and the events since have them. What this
    /// cannot learn is a link renamed while up (kernels since 6.2 allow it, and it keeps its
    /// routes): its event says so, and a listing (start, lost events, a failure) finds it. Whether
    /// the record changed.
    /// </summary>
    private bool VerifyLinks()
    {
        _vouchedFor.Clear();
        var keys = new List<LinkKey>();
        foreach (var name in _byInterface.Keys)
        {
            if (_linksByName.TryGetValue(name, out var link) && link.IsUp && _carrying.Contains(link.Index))
            {
                _vouchedFor.Add(link.Index);
            }
            else
            {
                keys.Add(LinkKey.ByName(name));
            }
        }
        // The links our routes go out of now or as recorded: their names say whose a device route is,
        // and their states what their events mean (an uplink that went down took our remote routes with it).
        foreach (var index in _carrying.Concat(_kernelByIndex.Keys))
        {
            if (_vouchedFor.Contains(index))
            {
                continue;
            }
            if (_carrying.Contains(index) && _linkNames.TryGetValue(index, out var name)
                && _linksByName.TryGetValue(name, out var link) && link.Index == index && link.IsUp)
            {
                _vouchedFor.Add(index);
            }
            else if (_vouchedFor.Add(index))
            {
                keys.Add(LinkKey.ByIndex(index));
            }
        }
        if (keys.Count == 0)
        {
            return false;
        }
        var found = _netlink.GetLinks(keys);
        if (found.Count != keys.Count)
        {
            throw new NetlinkException($"{found.Count} answers to {keys.Count} link lookups");
        }
        var changed = false;
        for (var i = 0; i < keys.Count; i++)
        {
            changed |= found[i] is { } link ? RecordLink(link) : ForgetLink(keys[i]);
        }
        return changed;
    }

    /// <summary>
    /// Records the link as the kernel described it: whatever else its name or index stood for is no
    /// longer so. Whether that changed the record.
    /// </summary>
    private bool RecordLink(LinkInfo link)
    {
        if (_linksByName.TryGetValue(link.Name, out var recorded) && recorded.Index == link.Index && recorded.IsUp == link.IsUp
            && _linkNames.GetValueOrDefault(link.Index) == link.Name)
        {
            return false;
        }
        if (_linksByName.TryGetValue(link.Name, out var old) && old.Index != link.Index && _linkNames.GetValueOrDefault(old.Index) == link.Name)
        {
            _linkNames.Remove(old.Index);
        }
        if (_linkNames.TryGetValue(link.Index, out var oldName) && oldName != link.Name
            && _linksByName.TryGetValue(oldName, out var named) && named.Index == link.Index)
        {
            _linksByName.Remove(oldName);
        }
        _linksByName[link.Name] = link;
        _linkNames[link.Index] = link.Name;
        return true;
    }

    /// <summary>The kernel has no link of that name or index: forget what the record said about it. Whether it said anything.</summary>
    private bool ForgetLink(LinkKey key)
    {
        if (key.Name is { } name)
        {
            if (!_linksByName.Remove(name, out var old))
            {
                return false;
            }
            if (_linkNames.GetValueOrDefault(old.Index) == name)
            {
                _linkNames.Remove(old.Index);
            }
            return true;
        }
        if (!_linkNames.Remove(key.Index, out var oldName))
        {
            return false;
        }
        if (_linksByName.TryGetValue(oldName, out var named) && named.Index == key.Index)
        {
            _linksByName.Remove(oldName);
        }
        return true;
    }

    private bool IsOurs(RouteSpec route) => route.Protocol == _protocol && route.Destination.BaseAddress.AddressFamily == Family;

    /// <summary>What the last read-back checked: every link when it listed them, else every wanted interface.</summary>
    private void MarkChecked(bool listed)
    {
        _allChecked = listed;
        _checked.Clear();
        if (!listed)
        {
            _checked.UnionWith(_byInterface.Keys);
        }
        _newlyWanted.Clear();
    }

    /// <summary>An event told of the link of that name: its record is the kernel's word.</summary>
    private void HeardOf(string name)
    {
        _newlyWanted.Remove(name);
        if (!_allChecked)
        {
            _checked.Add(name);
        }
    }

    /// <summary>
    /// An interface that was not wanted at the last refresh may have had its link appear, vanish
    /// or be recreated since, unheard of (only wanted ones are checked): unless an event told of it,
    /// the next apply looks it up, so that it is routed as the old record would, not left to the next refresh.
    /// </summary>
    private void OnNewlyWanted(string name)
    {
        if (!_allChecked && !_checked.Contains(name))
        {
            _newlyWanted.Add(name);
        }
    }

    /// <summary>
    /// Looks up the interfaces that became wanted since the last read-back, and takes what the
    /// kernel says as a link event: one whose link appeared, or was recreated, unheard of (its event
    /// still queued, or never sent to a table that is not fed events) is routed by this apply rather
    /// than the next refresh.
    /// </summary>
    private bool TryLookUpNewlyWanted(out string? error)
    {
        var keys = _newlyWanted.Order(StringComparer.Ordinal).Select(LinkKey.ByName).ToList();
        IReadOnlyList<LinkInfo?> found;
        try
        {
            found = _netlink.GetLinks(keys);
            if (found.Count != keys.Count)
            {
                throw new NetlinkException($"{found.Count} answers to {keys.Count} link lookups");
            }
        }
        catch (NetlinkException e)
        {
            _metrics.NetlinkErrors.WithLabels(NetlinkErrorMetric.Socket).Inc();
            (_readBackNeeded, _linksListNeeded) = (true, true);
            error = $"looking up links failed: {e.Message}";
            LogReadBackFailed(_logger, (int)_version, e.Message);
            return false;
        }
        for (var i = 0; i < keys.Count; i++)
        {
            HeardOf(keys[i].Name!);
            if (found[i] is { } link)
            {
                OnLinkUpdated(link);
            }
            else if (_linksByName.TryGetValue(keys[i].Name!, out var recorded))
            {
                OnLinkGone(recorded.Index);
            }
        }
        error = null;
        return true;
    }

    /// <summary>
    /// The kernel picks the link of a route via a gateway: asks it which link each gateway of the
    /// remote routes just programmed is reached by, and records the routes on that link, so that
    /// the link's events (down, gone) find them even when the record knows the link under no name.
    /// Best effort: if the lookup fails, the routes stay recorded without a link until the next read-back.
    /// </summary>
    private void PlaceGatewayRoutes(List<RouteState> placed)
    {
        var gateways = placed.Select(s => s.Kernel!.Gateway!).Distinct().ToList();
        IReadOnlyList<int> interfaces;
        try
        {
            interfaces = _netlink.GetRouteInterfaces(gateways);
        }
        catch (NetlinkException e)
        {
            _metrics.NetlinkErrors.WithLabels(NetlinkErrorMetric.Socket).Inc();
            LogPlacingFailed(_logger, (int)_version, e.Message);
            return;
        }
        var byGateway = gateways.Zip(interfaces).Where(g => g.Second != 0).ToDictionary(g => g.First, g => g.Second);
        foreach (var state in placed)
        {
            if (state.Kernel is { InterfaceIndex: 0, Gateway: { } gateway } route && byGateway.TryGetValue(gateway, out var index))
            {
                SetKernel(state, route with { InterfaceIndex = index });
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "routes (IPv{Version}): looking up the links of new remote routes failed: {Error}; the next read-back finds them")]
    private static partial void LogPlacingFailed(ILogger logger, int version, string error);
}
