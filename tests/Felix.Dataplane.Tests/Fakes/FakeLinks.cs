using System.Net;
using System.Runtime.CompilerServices;
using Felix.Dataplane.Netlink;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// A minimal <see cref="IRouteNetlink"/> for the interface configuration: links (with indexes that
/// are never reused, as the kernel's), their up flag, neighbour and proxy entries, and the events a
/// change would make the kernel send, which the test passes on. Requests for a link that is not
/// there are answered <c>ENODEV</c>, as the kernel does. Routes are not part of it.
/// </summary>
internal sealed class FakeLinks : IRouteNetlink
{
    private readonly Dictionary<int, Link> _links = [];
    private int _nextIndex = 10;

    /// <summary>Every request sent, in order, over all Execute calls.</summary>
    public List<NetlinkRequest> Requests { get; } = [];

    public int ExecuteCalls { get; private set; }

    public int ListCalls { get; private set; }

    /// <summary>Events the kernel would have sent since the test last took them.</summary>
    public Queue<LinkEvent> Events { get; } = new();

    /// <summary>Called before each request is carried out (after the batch is sent).</summary>
    public Action<NetlinkRequest>? BeforeRequest { get; set; }

    /// <summary>A non-null answer refuses the request with that error.</summary>
    public Func<NetlinkRequest, NetlinkError?>? Refuse { get; set; }

    /// <summary>Non-null: ListLinks and Execute throw with it.</summary>
    public string? SocketFailure { get; set; }

    public int Add(string name, bool up = false)
    {
        var index = _nextIndex++;
        _links[index] = new Link(index, name) { Up = up };
        Events.Enqueue(new LinkUpdated(_links[index].Info));
        return index;
    }

    public void Remove(string name)
    {
        var link = Find(name) ?? throw new InvalidOperationException($"no link {name}");
        _links.Remove(link.Index);
        Events.Enqueue(new LinkDeleted(link.Index, name));
    }

    public void SetUp(string name, bool up)
    {
        var link = Find(name)!;
        link.Up = up;
        if (!up)
        {
            // The kernel flushes a link's neighbour entries, permanent and proxy ones too, when it goes down.
            link.Neighbours.Clear();
            link.Proxies.Clear();
        }
        Events.Enqueue(new LinkUpdated(link.Info));
    }

    public void Rename(string from, string to)
    {
        var link = Find(from)!;
        link.Name = to;
        Events.Enqueue(new LinkUpdated(link.Info));
    }

    public Link? Find(string name) => _links.Values.SingleOrDefault(l => l.Name == name);

    public IReadOnlyList<LinkInfo> ListLinks()
    {
        ListCalls++;
        if (SocketFailure is { } failure)
        {
            throw new NetlinkException(failure);
        }
        return [.. _links.Values.OrderBy(l => l.Index).Select(l => l.Info)];
    }

    public IReadOnlyList<RouteSpec> ListRoutes(IpVersion family, byte protocol) => throw new NotSupportedException("routes are not part of this fake");

    public IReadOnlyList<NetlinkError?> Execute(IReadOnlyList<NetlinkRequest> requests)
    {
        ExecuteCalls++;
        if (SocketFailure is { } failure)
        {
            throw new NetlinkException(failure);
        }
        var results = new List<NetlinkError?>();
        foreach (var request in requests)
        {
            Requests.Add(request);
            BeforeRequest?.Invoke(request);
            results.Add(Refuse?.Invoke(request) ?? Carry(request));
        }
        return results;
    }

    public async IAsyncEnumerable<LinkEvent> WatchLinksAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        yield break;
    }

    public void Dispose()
    {
    }

    private NetlinkError? Carry(NetlinkRequest request)
    {
        var index = request switch
        {
            SetLinkUp r => r.InterfaceIndex,
            ReplaceNeighbor r => r.InterfaceIndex,
            ReplaceProxyNeighbor r => r.InterfaceIndex,
            _ => throw new NotSupportedException($"{request} is not part of this fake"),
        };
        if (!_links.TryGetValue(index, out var link))
        {
            return new NetlinkError(NetlinkError.NoSuchDevice, "ENODEV", null);
        }
        switch (request)
        {
            case SetLinkUp when !link.Up:
                link.Up = true;
                Events.Enqueue(new LinkUpdated(link.Info));
                break;
            case ReplaceNeighbor n:
                link.Neighbours[n.Address] = Convert.ToHexString(n.LinkAddress);
                break;
            case ReplaceProxyNeighbor p:
                link.Proxies.Add(p.Address);
                break;
        }
        return null;
    }

    internal sealed class Link(int index, string name)
    {
        public int Index { get; } = index;

        public string Name { get; set; } = name;

        public bool Up { get; set; }

        public Dictionary<IPAddress, string> Neighbours { get; } = [];

        public HashSet<IPAddress> Proxies { get; } = [];

        public LinkInfo Info => new(Index, Name, Up, [0xee, 0xee, 0xee, 0xee, 0xee, 0xee]);
    }
}
