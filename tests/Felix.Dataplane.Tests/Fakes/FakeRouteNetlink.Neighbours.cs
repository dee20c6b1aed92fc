using System.Net;
using Felix.Dataplane.Netlink;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// The neighbour tables: permanent entries (<c>ip neigh replace … nud permanent</c>) and proxy
/// entries (<c>ip neigh replace proxy …</c>), each keyed as the kernel keys them, by link and
/// address, so a replace overwrites the entry of its key and never adds a second one. A request for
/// a link that is not there is ENODEV. Taking a link down or deleting it flushes its entries of both
/// kinds, permanent ones included (the kernel's <c>neigh_ifdown</c>): that is why the interface
/// configuration sets a link up before sending its entries.
/// </summary>
public sealed partial class FakeRouteNetlink
{
    private readonly Dictionary<(int Index, IPAddress Address), string> _neighbours = [];
    private readonly HashSet<(int Index, IPAddress Address)> _proxies = [];

    /// <summary>The permanent neighbour entries on link <paramref name="index"/>: address → link-layer address in hex (<see cref="Convert.ToHexString(byte[])"/>).</summary>
    public IReadOnlyDictionary<IPAddress, string> NeighboursOf(int index)
    {
        lock (_gate)
        {
            return _neighbours.Where(n => n.Key.Index == index).ToDictionary(n => n.Key.Address, n => n.Value);
        }
    }

    /// <summary>The addresses link <paramref name="index"/> has proxy entries for.</summary>
    public IReadOnlySet<IPAddress> ProxiesOf(int index)
    {
        lock (_gate)
        {
            return _proxies.Where(p => p.Index == index).Select(p => p.Address).ToHashSet();
        }
    }

    /// <summary>Removes the link's permanent neighbour entries by hand (<c>ip neigh flush dev … nud all</c>); proxy entries are another table and stay.</summary>
    public void FlushNeighboursByHand(string linkName)
    {
        lock (_gate)
        {
            RemoveNeighboursOf(LinkNamed(linkName).Index);
        }
    }

    private NetlinkError? Replace(ReplaceNeighbor request)
    {
        if (!_links.ContainsKey(request.InterfaceIndex))
        {
            return Error(NetlinkError.NoSuchDevice);
        }
        _neighbours[(request.InterfaceIndex, request.Address)] = Convert.ToHexString(request.LinkAddress);
        return null;
    }

    private NetlinkError? Replace(ReplaceProxyNeighbor request)
    {
        if (!_links.ContainsKey(request.InterfaceIndex))
        {
            return Error(NetlinkError.NoSuchDevice);
        }
        _proxies.Add((request.InterfaceIndex, request.Address));
        return null;
    }

    /// <summary>What a link going down or away does to the neighbour tables.</summary>
    private void FlushNeighboursOf(int index)
    {
        RemoveNeighboursOf(index);
        _proxies.RemoveWhere(p => p.Index == index);
    }

    private void RemoveNeighboursOf(int index)
    {
        foreach (var key in _neighbours.Keys.Where(k => k.Index == index).ToList())
        {
            _neighbours.Remove(key);
        }
    }
}
