using System.Net;
using Felix.Dataplane.Netlink;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>What other programs and the kernel itself do to the fake's links and routes, with the events the kernel would send.</summary>
public sealed partial class FakeRouteNetlink
{
    /// <summary>Whether link changes are announced (to watchers and <see cref="TakeEvents"/>); false plays events the code never hears of.</summary>
    public bool EmitEvents { get; set; } = true;

    /// <summary>Creates a link (like a CNI plugin creating a veth) and returns its index; indexes are never reused.</summary>
    public int AddLink(string name, bool up = true)
    {
        lock (_gate)
        {
            if (_links.Values.Any(l => l.Name == name))
            {
                throw new InvalidOperationException($"fake: link {name} exists");
            }
            var link = new LinkInfo(_nextIndex++, name, up, [0x02, 0, 0, 0, 0, (byte)_nextIndex]);
            _links[link.Index] = link;
            Emit(new LinkUpdated(link));
            return link.Index;
        }
    }

    /// <summary>Deletes a link; the kernel removes its routes, addresses and neighbour entries with it.</summary>
    public void DeleteLink(string name)
    {
        lock (_gate)
        {
            var link = LinkNamed(name);
            RemoveRoutesThrough(link.Index);
            FlushNeighboursOf(link.Index);
            _connected.RemoveAll(c => c.Index == link.Index);
            _links.Remove(link.Index);
            Emit(new LinkDeleted(link.Index, link.Name));
        }
    }

    /// <summary>Deletes the link and creates one of the same name (a workload restarted); returns the new index.</summary>
    public int RecreateLink(string name, bool up = true)
    {
        DeleteLink(name);
        return AddLink(name, up);
    }

    /// <summary>Sets the link administratively up or down; going down takes its routes and neighbour entries with it.</summary>
    public void SetLinkState(string name, bool up)
    {
        lock (_gate)
        {
            SetUp(LinkNamed(name), up);
        }
    }

    public void RenameLink(string name, string newName)
    {
        lock (_gate)
        {
            var link = LinkNamed(name) with { Name = newName };
            _links[link.Index] = link;
            Emit(new LinkUpdated(link));
        }
    }

    /// <summary>Gives the link an address in <paramref name="network"/>: gateways in it become reachable through the link.</summary>
    public void AddConnectedNetwork(string linkName, IPNetwork network)
    {
        lock (_gate)
        {
            _connected.Add((network, LinkNamed(linkName).Index));
        }
    }

    /// <summary>A route added by hand (<c>ip route replace</c>): any protocol, no checks beyond the link existing.</summary>
    public void AddRouteByHand(RouteSpec route)
    {
        ArgumentNullException.ThrowIfNull(route);
        lock (_gate)
        {
            if (route.InterfaceIndex != 0 && !_links.ContainsKey(route.InterfaceIndex))
            {
                throw new InvalidOperationException($"fake: no link {route.InterfaceIndex}");
            }
            _routes[route.Destination] = route;
        }
    }

    public void DeleteRouteByHand(IPNetwork destination)
    {
        lock (_gate)
        {
            _routes.Remove(destination);
        }
    }

    /// <summary>Announces that the kernel dropped link events (ENOBUFS).</summary>
    public void LoseEvents()
    {
        lock (_gate)
        {
            Emit(new LinkEventsLost());
        }
    }

    /// <summary>The link events announced since the last call, in order.</summary>
    public IReadOnlyList<LinkEvent> TakeEvents()
    {
        lock (_gate)
        {
            var events = _pendingEvents.ToList();
            _pendingEvents.Clear();
            return events;
        }
    }

    public int IndexOf(string name)
    {
        lock (_gate)
        {
            return LinkNamed(name).Index;
        }
    }

    /// <summary>The link of that name, for a test to look at; null when there is none.</summary>
    public LinkInfo? Link(string name)
    {
        lock (_gate)
        {
            return FindLink(name);
        }
    }

    public RouteSpec? Route(IPNetwork destination)
    {
        lock (_gate)
        {
            return _routes.GetValueOrDefault(destination);
        }
    }

    /// <summary>The links, for a test to look at (not counted as a dump, never failing).</summary>
    public IReadOnlyList<LinkInfo> Links()
    {
        lock (_gate)
        {
            return [.. _links.Values.OrderBy(l => l.Index)];
        }
    }

    /// <summary>The routes of one family and protocol, for a test to look at (not counted as a dump, never failing).</summary>
    public IReadOnlyList<RouteSpec> RoutesOf(IpVersion family, byte protocol)
    {
        lock (_gate)
        {
            return [.. _routes.Values.Where(r => FamilyOf(r.Destination) == family && r.Protocol == protocol)
                .OrderBy(r => r.Destination.ToString(), StringComparer.Ordinal)];
        }
    }

    /// <summary>Every route of the main tables, both families, any protocol.</summary>
    public IReadOnlyList<RouteSpec> AllRoutes()
    {
        lock (_gate)
        {
            return [.. _routes.Values];
        }
    }

    private LinkInfo? FindLink(string name) => _links.Values.FirstOrDefault(l => l.Name == name);

    private LinkInfo LinkNamed(string name) => FindLink(name) ?? throw new InvalidOperationException($"fake: no link {name}");

    private void SetUp(LinkInfo link, bool up)
    {
        if (link.IsUp == up)
        {
            return;
        }
        if (!up)
        {
            RemoveRoutesThrough(link.Index);
            FlushNeighboursOf(link.Index);
        }
        _links[link.Index] = link with { IsUp = up };
        Emit(new LinkUpdated(_links[link.Index]));
    }

    private void RemoveRoutesThrough(int index)
    {
        foreach (var destination in _routes.Values.Where(r => r.InterfaceIndex == index).Select(r => r.Destination).ToList())
        {
            _routes.Remove(destination);
        }
    }

    private void Emit(LinkEvent linkEvent)
    {
        if (!EmitEvents)
        {
            return;
        }
        _pendingEvents.Add(linkEvent);
        foreach (var watcher in _watchers)
        {
            watcher.Writer.TryWrite(linkEvent);
        }
    }
}
