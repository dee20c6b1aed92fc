using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Felix.Dataplane.Netlink;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// A semantic fake of rtnetlink in one network namespace, behind <see cref="IRouteNetlink"/>: links
/// by index and name, and the main table of each family, one route per destination, with the
/// kernel's rules as checked on Linux 6.x with <c>ip route</c>:
/// <list type="bullet">
/// <item>an add (exclusive) of a destination some route already holds, of any protocol → EEXIST;
/// a replace matches the destination whatever the protocol (a foreign route is overwritten);
/// through a missing link → ENODEV, a down link → ENETDOWN; via a gateway on no connected network
/// of an up link → ENETUNREACH; the link of a gateway route is the one the gateway is on. (The
/// kernel accepts a gateway covered by any link-scope route of an up link, <c>default dev eth0</c>
/// included: a test plays that with a connected network of 0.0.0.0/0.)</item>
/// <item>a delete of a missing route, or one whose protocol, link or gateway differ from those
/// given → ESRCH;</item>
/// <item>a link that goes down or away takes its routes with it (both families), and IPv6
/// reports every route with scope universe.</item>
/// </list>
/// Neighbour and proxy entries are modelled too (<c>FakeRouteNetlink.Neighbours.cs</c>). What
/// another program does (links appearing, routes by hand) goes through the helpers in
/// <c>FakeRouteNetlink.Kernel.cs</c>, which emit the link events the kernel would.
/// </summary>
public sealed partial class FakeRouteNetlink : IRouteNetlink
{
    public const int InvalidArgument = 22;
    public const int NetworkIsDown = NetlinkError.NetworkIsDown;
    public const int NetworkIsUnreachable = NetlinkError.NetworkIsUnreachable;

    private readonly Lock _gate = new();
    private readonly Dictionary<int, LinkInfo> _links = [];
    private readonly Dictionary<IPNetwork, RouteSpec> _routes = [];
    private readonly List<(IPNetwork Network, int Index)> _connected = [];
    private readonly List<IReadOnlyList<NetlinkRequest>> _batches = [];
    private readonly List<LinkEvent> _pendingEvents = [];
    private readonly List<Channel<LinkEvent>> _watchers = [];
    private int _nextIndex = 1;
    private int _executeFailures;
    private bool _applyBeforeFailing;
    private int _listFailures;
    private int _lookupFailures;

    public FakeRouteNetlink()
    {
        AddLink("lo");
    }

    /// <summary>Every <see cref="Execute"/> call's requests, in order (including calls that failed).</summary>
    public IReadOnlyList<IReadOnlyList<NetlinkRequest>> Batches
    {
        get
        {
            lock (_gate)
            {
                return [.. _batches];
            }
        }
    }

    public IReadOnlyList<NetlinkRequest> Requests => [.. Batches.SelectMany(b => b)];

    /// <summary>How many times <see cref="Execute"/> was called, failed calls included.</summary>
    public int ExecuteCalls
    {
        get
        {
            lock (_gate)
            {
                return _batches.Count;
            }
        }
    }

    public int ListLinksCalls { get; private set; }

    public int ListRoutesCalls { get; private set; }

    /// <summary>Every key <see cref="GetLinks"/> was asked to look up, in order.</summary>
    public List<LinkKey> LinkLookups { get; } = [];

    /// <summary>How many addresses <see cref="GetRouteInterfaces"/> was asked about.</summary>
    public int RouteLookups { get; private set; }

    /// <summary>Answers a request with an error of the test's choosing before the fake looks at it (null: go on).</summary>
    public Func<NetlinkRequest, NetlinkError?>? Refuse { get; set; }

    /// <summary>Runs at the start of each <see cref="Execute"/>, outside the lock: another program acting between read-back and write.</summary>
    public Action<IReadOnlyList<NetlinkRequest>>? BeforeExecute { get; set; }

    /// <summary>
    /// Runs before each request of a batch is carried out (after the batch was sent), outside the
    /// lock: the kernel handles a batch one message at a time, so another program can act between two.
    /// </summary>
    public Action<NetlinkRequest>? BeforeRequest { get; set; }

    /// <summary>
    /// Non-null: every dump and every <see cref="Execute"/> throws <see cref="NetlinkException"/> with
    /// this message, nothing taking effect, until it is cleared (a broken socket; <see cref="FailNextExecute"/>
    /// and <see cref="FailNextList"/> are failures that pass).
    /// </summary>
    public string? SocketFailure { get; set; }

    /// <summary>Runs after each <see cref="Execute"/> that answered, with its requests and results.</summary>
    public Action<IReadOnlyList<NetlinkRequest>, IReadOnlyList<NetlinkError?>>? AfterExecute { get; set; }

    /// <summary>
    /// The next <paramref name="count"/> Execute calls throw <see cref="NetlinkException"/>; with
    /// <paramref name="applyFirstHalf"/> the first half of their requests are carried out as usual
    /// (hooks included) before the socket "fails".
    /// </summary>
    public void FailNextExecute(int count, bool applyFirstHalf = false)
    {
        lock (_gate)
        {
            _executeFailures = count;
            _applyBeforeFailing = applyFirstHalf;
        }
    }

    /// <summary>The next <paramref name="count"/> reads (dumps of links or routes, link lookups) throw <see cref="NetlinkException"/>.</summary>
    public void FailNextList(int count)
    {
        lock (_gate)
        {
            _listFailures = count;
        }
    }

    /// <summary>The next <paramref name="count"/> <see cref="GetLinks"/> calls throw <see cref="NetlinkException"/> (dumps pass).</summary>
    public void FailNextLookups(int count)
    {
        lock (_gate)
        {
            _lookupFailures = count;
        }
    }

    public IReadOnlyList<LinkInfo> ListLinks()
    {
        lock (_gate)
        {
            ListLinksCalls++;
            ThrowIfListFails();
            return Links();
        }
    }

    public IReadOnlyList<LinkInfo?> GetLinks(IReadOnlyList<LinkKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        lock (_gate)
        {
            LinkLookups.AddRange(keys);
            ThrowIfListFails();
            if (_lookupFailures > 0)
            {
                _lookupFailures--;
                throw new NetlinkException("fake: the lookup failed");
            }
            return [.. keys.Select(k => k.Name is { } name ? _links.Values.FirstOrDefault(l => l.Name == name) : _links.GetValueOrDefault(k.Index))];
        }
    }

    /// <summary>As <c>ip route get</c> answers for a gateway: the up link with a connected network holding the address, or 0.</summary>
    public IReadOnlyList<int> GetRouteInterfaces(IReadOnlyList<IPAddress> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        lock (_gate)
        {
            RouteLookups += addresses.Count;
            if (SocketFailure is { } failure)
            {
                throw new NetlinkException(failure);
            }
            return [.. addresses.Select(a => _connected.Where(c => c.Network.Contains(a) && _links[c.Index].IsUp).Select(c => c.Index).FirstOrDefault())];
        }
    }

    public IReadOnlyList<RouteSpec> ListRoutes(IpVersion family, byte protocol)
    {
        lock (_gate)
        {
            ListRoutesCalls++;
            ThrowIfListFails();
            return RoutesOf(family, protocol);
        }
    }

    public IReadOnlyList<NetlinkError?> Execute(IReadOnlyList<NetlinkRequest> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        BeforeExecute?.Invoke(requests);
        bool failing;
        int carried;
        lock (_gate)
        {
            _batches.Add([.. requests]);
            if (SocketFailure is { } failure)
            {
                throw new NetlinkException(failure);
            }
            failing = _executeFailures > 0;
            if (failing)
            {
                _executeFailures--;
            }
            carried = !failing ? requests.Count : _applyBeforeFailing ? requests.Count / 2 : 0;
        }
        var results = new NetlinkError?[requests.Count];
        for (var i = 0; i < carried; i++)
        {
            // Hooks run outside the lock: they act as other programs do, through the fake's helpers.
            BeforeRequest?.Invoke(requests[i]);
            var refusal = Refuse?.Invoke(requests[i]);
            lock (_gate)
            {
                results[i] = refusal ?? Apply(requests[i]);
            }
        }
        if (failing)
        {
            throw new NetlinkException("fake: the socket failed");
        }
        AfterExecute?.Invoke(requests, results);
        return results;
    }

    public async IAsyncEnumerable<LinkEvent> WatchLinksAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<LinkEvent>();
        lock (_gate)
        {
            _watchers.Add(channel);
        }
        try
        {
            await foreach (var linkEvent in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return linkEvent;
            }
        }
        finally
        {
            lock (_gate)
            {
                _watchers.Remove(channel);
            }
        }
    }

    public void Dispose()
    {
    }

    private void ThrowIfListFails()
    {
        if (SocketFailure is { } failure)
        {
            throw new NetlinkException(failure);
        }
        if (_listFailures > 0)
        {
            _listFailures--;
            throw new NetlinkException("fake: the dump failed");
        }
    }

    private NetlinkError? Apply(NetlinkRequest request)
    {
        switch (request)
        {
            case AddRoute add:
                return _routes.ContainsKey(add.Route.Destination) ? Error(NetlinkError.Exists) : Replace(add.Route);
            case ReplaceRoute replace:
                return Replace(replace.Route);
            case DeleteRoute delete:
                return Delete(delete.Route);
            case SetLinkUp up:
                if (!_links.TryGetValue(up.InterfaceIndex, out var link))
                {
                    return Error(NetlinkError.NoSuchDevice);
                }
                SetUp(link, true);
                return null;
            case ReplaceNeighbor neighbour:
                return Replace(neighbour);
            case ReplaceProxyNeighbor proxy:
                return Replace(proxy);
            default:
                return Error(InvalidArgument);
        }
    }

    private NetlinkError? Replace(RouteSpec route)
    {
        var family = FamilyOf(route.Destination);
        var index = route.InterfaceIndex;
        if (index != 0)
        {
            if (!_links.TryGetValue(index, out var link))
            {
                return Error(NetlinkError.NoSuchDevice);
            }
            if (!link.IsUp)
            {
                return Error(NetworkIsDown);
            }
        }
        if (route.Gateway is { } gateway)
        {
            if (gateway.AddressFamily != route.Destination.BaseAddress.AddressFamily || (route.OnLink && index == 0))
            {
                return Error(InvalidArgument);
            }
            if (!route.OnLink)
            {
                var on = _connected.Where(c => c.Network.Contains(gateway) && _links[c.Index].IsUp && (index == 0 || c.Index == index))
                    .Select(c => c.Index).FirstOrDefault();
                if (on == 0)
                {
                    return Error(NetworkIsUnreachable);
                }
                index = on;
            }
        }
        else if (index == 0)
        {
            return Error(InvalidArgument);
        }
        var scope = family == IpVersion.V6 ? RouteScope.Universe : route.Scope;
        _routes[route.Destination] = route with { InterfaceIndex = index, Scope = scope };
        return null;
    }

    private NetlinkError? Delete(RouteSpec route)
    {
        if (!_routes.TryGetValue(route.Destination, out var held)
            || held.Protocol != route.Protocol
            || (route.InterfaceIndex != 0 && held.InterfaceIndex != route.InterfaceIndex)
            || (route.Gateway is not null && !route.Gateway.Equals(held.Gateway)))
        {
            return Error(NetlinkError.NoSuchProcess);
        }
        _routes.Remove(route.Destination);
        return null;
    }

    private static IpVersion FamilyOf(IPNetwork network) =>
        network.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? IpVersion.V4 : IpVersion.V6;

    public static NetlinkError Error(int errno) => errno switch
    {
        NetlinkError.NoSuchProcess => new NetlinkError(errno, "ESRCH", null),
        NetlinkError.NoSuchDevice => new NetlinkError(errno, "ENODEV", null),
        NetlinkError.Exists => new NetlinkError(errno, "EEXIST", null),
        InvalidArgument => new NetlinkError(errno, "EINVAL", null),
        NetworkIsDown => new NetlinkError(errno, "ENETDOWN", "Device for nexthop is not up"),
        NetworkIsUnreachable => new NetlinkError(errno, "ENETUNREACH", null),
        1 => new NetlinkError(errno, "EPERM", null),
        _ => new NetlinkError(errno, $"E{errno}", null),
    };
}
