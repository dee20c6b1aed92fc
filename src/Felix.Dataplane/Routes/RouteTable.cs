using System.Net;
using System.Net.Sockets;
using Felix.Dataplane.Exec;
using Felix.Dataplane.Netlink;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Routes;

/// <summary>
/// Design: the agent's routes in the main table of one IP family. It holds the desired routes —
/// per local interface (<see cref="SetRoutes"/>: <c>&lt;ip&gt; dev &lt;iface&gt; scope link</c>) and
/// per remote endpoint (<see cref="SetRemoteRoutes"/>: <c>&lt;ip&gt; via &lt;its host's bird_ip&gt;</c>,
/// for RemoteWorkloadRoutes) — recorded without I/O, and a record of the kernel's routes of our
/// protocol, learnt by a netlink dump and then kept from our own writes. <see cref="ApplyAsync"/>
/// turns the destinations that changed into one pipelined batch of add, replace and delete requests.
/// <para>
/// Every route of DeviceRouteProtocol in the main table is ours: at start, after a failure, after
/// lost link events and every refresh interval the table dumps them, repairs what differs and
/// deletes what nothing wants, on any interface. Routes of any other protocol are
/// never read, replaced nor deleted: a destination we hold no route to is added exclusively
/// (<see cref="AddRoute"/>), and when another route already holds it (EEXIST) that route is left,
/// the operator told once, and the add tried again at each refresh. Only a route of ours is
/// replaced in place.
/// </para>
/// <para>
/// Names are resolved to link indexes from a listing of every link (at start, after a failure or
/// lost events) and the link events the caller feeds in (<see cref="OnLinkEvent"/>, pumped from
/// <see cref="IRouteNetlink.WatchLinksAsync"/>); a refresh checks them against the kernel where
/// its routes do not vouch for them, without listing every link again (see <c>VerifyLinks</c>). A route
/// whose interface is absent or down waits, costing nothing, until an event says the link is up;
/// a link that vanishes in the middle of an apply (ENODEV, ENETDOWN) is the same wait, not an error.
/// The kernel removes a link's routes when the link goes down or away, and the table forgets them
/// with it.
/// </para>
/// <para>
/// When an address's target changes (its workload left, or it moved to another interface or
/// host), the old route is deleted, the address's conntrack entries are flushed, and only then is
/// the new route added: a flow of the old workload must not carry on, as ESTABLISHED, to the new
/// one. Between those steps the address has no route of ours, briefly.
/// </para>
/// <para>
/// Not thread-safe: the update methods, <see cref="OnLinkEvent"/> and <see cref="ApplyAsync"/> must
/// be called from one loop. Do not apply before the desired state is complete (the datastore in
/// sync): an apply deletes every route of our protocol nothing wants.
/// </para>
/// </summary>
public sealed partial class RouteTable
{
    private readonly IpVersion _version;
    private readonly IRouteNetlink _netlink;
    private readonly ConntrackFlusher _conntrack;
    private readonly RouteTableMetrics.Labelled _metrics;
    private readonly ILogger _logger;
    private readonly RouteTableOptions _options;
    private readonly TimeProvider _clock;
    private readonly byte _protocol;
    private readonly RouteScope _deviceScope;
    private readonly Dictionary<IPNetwork, RouteState> _routes = new(DestinationComparer.Instance);
    private readonly Dictionary<IPNetwork, RouteState>.AlternateLookup<DestinationBytes> _routesByBytes;
    private readonly KnownRoutes _known;
    // Per owner, its few destinations as a plain array: a set per remote endpoint cost ~190 bytes each at 100k.
    private readonly Dictionary<string, IPNetwork[]> _byInterface = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (IPAddress Gateway, IPNetwork[] Destinations)> _byRemote = new(StringComparer.Ordinal);
    private readonly HashSet<IPNetwork> _dirty = [];
    private readonly Queue<IPNetwork> _flushQueue = new();
    private readonly HashSet<IPNetwork> _unreachable = [];
    private readonly List<RouteSpec> _duplicates = [];
    private bool _readBackNeeded = true;
    private long _nextReadBack;
    private bool _adopted;

    public RouteTable(IpVersion version, IRouteNetlink netlink, IConntrackNetlink conntrack, RouteTableMetrics metrics,
        ILogger logger, RouteTableOptions options, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(netlink);
        ArgumentNullException.ThrowIfNull(conntrack);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        if (options.DeviceRouteProtocol is 0 or 2)
        {
            // Unspecified or the kernel's own: deleting "our" unwanted routes would delete the host's connected routes.
            throw new ArgumentOutOfRangeException(nameof(options), options.DeviceRouteProtocol, "DeviceRouteProtocol must not be 0 or 2 (the kernel's)");
        }
        _version = version;
        _netlink = netlink;
        _routesByBytes = _routes.GetAlternateLookup<DestinationBytes>();
        _known = new KnownRoutes(this);
        _conntrack = new ConntrackFlusher(conntrack, logger);
        _metrics = metrics.For(version);
        _logger = logger;
        _options = options;
        _clock = clock;
        _protocol = options.DeviceRouteProtocol;
        // IPv6 has no route scopes: the kernel reports every route as universe, so asking for link would never read back the same.
        _deviceScope = version == IpVersion.V4 ? RouteScope.Link : RouteScope.Universe;
    }

    public IpVersion Version => _version;

    /// <summary>When applies began failing persistently (every attempt of one apply refused), or null.</summary>
    public DateTimeOffset? FailingSince { get; private set; }

    /// <summary>Whether an apply would write, flush or read back anything.</summary>
    public bool HasPendingWork =>
        _readBackNeeded || ReadBackDue || _dirty.Count > 0 || _flushQueue.Count > 0 || _duplicates.Count > 0 || _newlyWanted.Count > 0;

    /// <summary>Whether the periodic read-back (every refresh interval) is due.</summary>
    public bool ReadBackDue => _clock.GetTimestamp() >= _nextReadBack;

    /// <summary>Has the next apply read back first, as a refresh does: a suspicion of drift.</summary>
    public void RequestReadBack() => _readBackNeeded = true;

    /// <summary>
    /// Wants exactly <paramref name="destinations"/> routed out of the local interface
    /// <paramref name="interfaceName"/> (a workload's veth); an empty list removes its routes.
    /// </summary>
    public void SetRoutes(string interfaceName, IEnumerable<IPNetwork> destinations)
    {
        CheckInterfaceName(interfaceName);
        ArgumentNullException.ThrowIfNull(destinations);
        var wanted = Distinct(destinations);
        var claim = new RouteClaim(interfaceName, null);
        Reclaim(claim, _byInterface.GetValueOrDefault(interfaceName), wanted);
        if (wanted.Length == 0)
        {
            _byInterface.Remove(interfaceName);
            _newlyWanted.Remove(interfaceName);
        }
        else
        {
            if (_byInterface.TryAdd(interfaceName, wanted))
            {
                OnNewlyWanted(interfaceName);
            }
            _byInterface[interfaceName] = wanted;
        }
    }

    /// <summary>The interface's workload is gone: its routes are removed.</summary>
    public void RemoveInterface(string interfaceName) => SetRoutes(interfaceName, []);

    /// <summary>
    /// RemoteWorkloadRoutes: wants exactly <paramref name="destinations"/> (a remote endpoint's
    /// addresses, <paramref name="owner"/> its key) routed via <paramref name="gateway"/> (its
    /// host's address, which must be reachable on a local link: no encapsulation, no BGP).
    /// </summary>
    public void SetRemoteRoutes(string owner, IEnumerable<IPNetwork> destinations, IPAddress gateway)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentNullException.ThrowIfNull(destinations);
        ArgumentNullException.ThrowIfNull(gateway);
        if (gateway.AddressFamily != Family)
        {
            throw new ArgumentException($"gateway {gateway} is not an IPv{(int)_version} address", nameof(gateway));
        }
        var wanted = Distinct(destinations);
        var claim = new RouteClaim(owner, gateway);
        var current = _byRemote.GetValueOrDefault(owner);
        if (current.Gateway is not null && !current.Gateway.Equals(gateway))
        {
            // A new gateway changes every claim of the owner: drop them all and claim afresh.
            Reclaim(new RouteClaim(owner, current.Gateway), current.Destinations, []);
            current = default;
        }
        Reclaim(claim, current.Destinations, wanted);
        if (wanted.Length == 0)
        {
            _byRemote.Remove(owner);
        }
        else
        {
            _byRemote[owner] = (gateway, wanted);
        }
    }

    /// <summary>The remote endpoint is gone (or no longer routed): its routes are removed.</summary>
    public void RemoveRemoteRoutes(string owner)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        if (_byRemote.Remove(owner, out var current))
        {
            Reclaim(new RouteClaim(owner, current.Gateway), current.Destinations, []);
        }
    }

    private void Reclaim(RouteClaim claim, IPNetwork[]? currentDestinations, IPNetwork[] wantedDestinations)
    {
        var current = currentDestinations is null ? null : Searchable(currentDestinations);
        var wanted = Searchable(wantedDestinations);
        if (current is not null)
        {
            foreach (var destination in current.Where(d => !wanted.Contains(d)))
            {
                var state = _routes[destination];
                state.RemoveClaim(claim);
                state.ForeignHeld = false;
                MarkDirty(state);
            }
        }
        foreach (var destination in wanted.Where(d => current is null || !current.Contains(d)))
        {
            var state = StateOf(destination);
            if (state.ClaimCount > 0)
            {
                LogConflict(_logger, destination, string.Join(", ", state.ClaimOwners), claim.Owner);
            }
            state.AddClaim(claim);
            state.ForeignHeld = false;
            MarkDirty(state);
        }
    }

    private AddressFamily Family => _version == IpVersion.V4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;

    /// <summary>The destinations checked, each once, in their order.</summary>
    private IPNetwork[] Distinct(IEnumerable<IPNetwork> destinations) => [.. destinations.Select(CheckDestination).Distinct()];

    /// <summary>An owner's destinations to look up in: the array itself, a set when there are many.</summary>
    private static ICollection<IPNetwork> Searchable(IPNetwork[] destinations) =>
        destinations.Length > 16 ? new HashSet<IPNetwork>(destinations) : destinations;

    private IPNetwork CheckDestination(IPNetwork destination) =>
        destination.BaseAddress.AddressFamily == Family
            ? destination
            : throw new ArgumentException($"destination {destination} is not an IPv{(int)_version} network", nameof(destination));

    /// <summary>The kernel's rule for a link name (<c>dev_valid_name</c>): 1–15 bytes, no '/', ':' or whitespace, not "." or "..".</summary>
    private static void CheckInterfaceName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length is 0 or > 15 || name is "." or ".." || name.Any(c => c is '/' or ':' || char.IsWhiteSpace(c) || c > '\x7e'))
        {
            throw new ArgumentException($"'{name}' is not a valid interface name", nameof(name));
        }
    }

    private RouteState StateOf(IPNetwork destination)
    {
        if (!_routes.TryGetValue(destination, out var state))
        {
            _routes[destination] = state = new RouteState(destination);
        }
        return state;
    }

    /// <summary>Puts the destination on the dirty list or takes it off, as its state says; forgets it once idle.</summary>
    private void MarkDirty(RouteState state)
    {
        if (!InStep(state))
        {
            _dirty.Add(state.Destination);
            return;
        }
        _dirty.Remove(state.Destination);
        if (state.IsIdle)
        {
            _routes.Remove(state.Destination);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route to {Destination} is wanted by {Owners} and now also by {Owner}; the local interface first, then the first name, wins")]
    private static partial void LogConflict(ILogger logger, IPNetwork destination, string owners, string owner);
}
