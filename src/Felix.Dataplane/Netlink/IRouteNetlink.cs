using System.Net;

namespace Felix.Dataplane.Netlink;

/// <summary>
/// The seam through which the dataplane talks rtnetlink in its own network namespace: links,
/// routes, neighbours and link events. The real one is <see cref="RouteNetlink"/>; unit tests
/// substitute a fake. Calls are synchronous: each is a few microseconds of kernel work, and the
/// apply loop is their only caller.
/// </summary>
public interface IRouteNetlink : IDisposable
{
    /// <summary>Every link in the namespace.</summary>
    /// <exception cref="NetlinkException">The dump failed (after retrying interrupted dumps).</exception>
    IReadOnlyList<LinkInfo> ListLinks();

    /// <summary>
    /// The links asked for, each looked up on its own, by name or by index: for each key in order,
    /// the link, or null when the namespace has none of that name or index. Cheaper than
    /// <see cref="ListLinks"/> when few links matter among many: a listing costs the kernel several
    /// microseconds per link (over 100 ms at 20k links). The default answers from a full listing.
    /// </summary>
    /// <exception cref="NetlinkException">A lookup failed otherwise than for want of the link.</exception>
    IReadOnlyList<LinkInfo?> GetLinks(IReadOnlyList<LinkKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var links = ListLinks();
        return [.. keys.Select(k => k.Name is { } name ? links.FirstOrDefault(l => l.Name == name) : links.FirstOrDefault(l => l.Index == k.Index))];
    }

    /// <summary>
    /// For each address, the link the kernel sends a packet to it out of now (a route lookup, as
    /// <c>ip route get</c> does), or 0 when it has no route to it. The default knows none: all 0.
    /// </summary>
    /// <exception cref="NetlinkException">The socket failed.</exception>
    IReadOnlyList<int> GetRouteInterfaces(IReadOnlyList<IPAddress> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        return new int[addresses.Count];
    }

    /// <summary>The unicast routes of the main table of <paramref name="family"/> whose protocol is <paramref name="protocol"/>.</summary>
    /// <exception cref="NetlinkException">The dump failed (after retrying interrupted dumps).</exception>
    IReadOnlyList<RouteSpec> ListRoutes(IpVersion family, byte protocol);

    /// <summary>
    /// Dumps as <see cref="ListRoutes(IpVersion, byte)"/>, but lists in <paramref name="others"/>
    /// (cleared first) only the routes <paramref name="known"/> does not say it holds: a refresh that
    /// finds 100k routes as they were then decodes and allocates nothing for them. The default lists
    /// them all and asks of each.
    /// </summary>
    /// <exception cref="NetlinkException">The dump failed (after retrying interrupted dumps).</exception>
    void ListRoutes(IpVersion family, byte protocol, IKnownRoutes known, List<RouteSpec> others)
    {
        ArgumentNullException.ThrowIfNull(known);
        ArgumentNullException.ThrowIfNull(others);
        var listed = ListRoutes(family, protocol);
        known.DumpStarting();
        others.Clear();
        Span<byte> destination = stackalloc byte[16];
        Span<byte> gateway = stackalloc byte[16];
        foreach (var route in listed)
        {
            if (!known.Holds(DumpedRoute.Of(route, destination, gateway)))
            {
                others.Add(route);
            }
        }
    }

    /// <summary>
    /// Sends every request, pipelined, each asking for an acknowledgement, and returns one result per
    /// request in order: null when the kernel acknowledged it, else the error it answered with. A
    /// refused request does not stop the ones after it.
    /// </summary>
    /// <exception cref="NetlinkException">The socket itself failed; requests may or may not have taken effect.</exception>
    IReadOnlyList<NetlinkError?> Execute(IReadOnlyList<NetlinkRequest> requests);

    /// <summary>
    /// Link changes as the kernel announces them, until cancelled; one watcher at a time.
    /// <see cref="LinkEventsLost"/> means the kernel dropped some (its buffer overflowed): list the
    /// links again.
    /// </summary>
    IAsyncEnumerable<LinkEvent> WatchLinksAsync(CancellationToken cancellationToken);
}

/// <summary>A link as <c>RTM_NEWLINK</c> describes it.</summary>
/// <param name="IsUp">Administratively up (<c>IFF_UP</c>).</param>
/// <param name="Address">The link-layer address, when it has one.</param>
public sealed record LinkInfo(int Index, string Name, bool IsUp, byte[]? Address);

/// <summary>What the caller of a route dump already holds (see <see cref="IRouteNetlink.ListRoutes(IpVersion, byte, IKnownRoutes, List{RouteSpec})"/>).</summary>
public interface IKnownRoutes
{
    /// <summary>The dump starts, or starts again (the kernel interrupted it): forget what the last attempt was told.</summary>
    void DumpStarting();

    /// <summary>Whether the caller holds exactly this route; a route it holds is neither decoded nor listed.</summary>
    bool Holds(in DumpedRoute route);
}

/// <summary>
/// One route of a dump as the kernel sent it, before it is made a <see cref="RouteSpec"/> (its
/// addresses are bytes of the received message): enough to tell whether it is a route already held,
/// with nothing allocated.
/// </summary>
public readonly ref struct DumpedRoute(
    ReadOnlySpan<byte> destination, int prefixLength, int interfaceIndex, ReadOnlySpan<byte> gateway, bool onLink, RouteScope scope, byte protocol)
{
    /// <summary>The destination's address: 4 bytes (IPv4) or 16 (IPv6).</summary>
    public ReadOnlySpan<byte> Destination { get; } = destination;

    public int PrefixLength { get; } = prefixLength;

    public int InterfaceIndex { get; } = interfaceIndex;

    /// <summary>The gateway's address, as long as the destination's; empty when the route has none.</summary>
    public ReadOnlySpan<byte> Gateway { get; } = gateway;

    public bool OnLink { get; } = onLink;

    public RouteScope Scope { get; } = scope;

    public byte Protocol { get; } = protocol;

    /// <summary><paramref name="route"/> as a dump would carry it, its addresses written into the two buffers (16 bytes each).</summary>
    public static DumpedRoute Of(RouteSpec route, Span<byte> destination, Span<byte> gateway)
    {
        ArgumentNullException.ThrowIfNull(route);
        route.Destination.BaseAddress.TryWriteBytes(destination, out var length);
        var gatewayLength = 0;
        route.Gateway?.TryWriteBytes(gateway, out gatewayLength);
        return new DumpedRoute(destination[..length], route.Destination.PrefixLength, route.InterfaceIndex, gateway[..gatewayLength], route.OnLink,
            route.Scope, route.Protocol);
    }

    /// <summary>Whether <paramref name="route"/> is this route, field by field.</summary>
    public bool Is(RouteSpec route)
    {
        ArgumentNullException.ThrowIfNull(route);
        if (route.Destination.PrefixLength != PrefixLength || !IsAddress(route.Destination.BaseAddress, Destination))
        {
            return false;
        }
        return IsSameRouteTo(route);
    }

    /// <summary>Whether <paramref name="route"/>, to this route's destination (the caller knows), is this route.</summary>
    public bool IsSameRouteTo(RouteSpec route)
    {
        ArgumentNullException.ThrowIfNull(route);
        return route.InterfaceIndex == InterfaceIndex && route.OnLink == OnLink && route.Scope == Scope && route.Protocol == Protocol
            && (route.Gateway is { } gateway ? IsAddress(gateway, Gateway) : Gateway.IsEmpty);
    }

    private static bool IsAddress(IPAddress address, ReadOnlySpan<byte> bytes)
    {
        Span<byte> written = stackalloc byte[16];
        return address.TryWriteBytes(written, out var length) && written[..length].SequenceEqual(bytes);
    }

    /// <summary>The route as a <see cref="RouteSpec"/>.</summary>
    /// <exception cref="MalformedNetlinkException">The destination has bits set past its prefix.</exception>
    public RouteSpec ToSpec()
    {
        var destination = new IPAddress(Destination);
        var network = IpNetworks.TryCreate(destination, PrefixLength)
            ?? throw new MalformedNetlinkException($"route to {destination}/{PrefixLength} has host bits set");
        return new RouteSpec(network, InterfaceIndex, Gateway.IsEmpty ? null : new IPAddress(Gateway), OnLink, Scope, Protocol);
    }
}

/// <summary>A link to look up (<see cref="IRouteNetlink.GetLinks"/>): by <see cref="Name"/> when it is set, else by <see cref="Index"/>.</summary>
public readonly record struct LinkKey(int Index, string? Name)
{
    public static LinkKey ByName(string name) => new(0, name);

    public static LinkKey ByIndex(int index) => new(index, null);

    public override string ToString() => Name ?? $"#{Index}";
}

/// <summary>How far a route reaches (<c>rtm_scope</c>).</summary>
public enum RouteScope : byte
{
    Universe = 0,
    Link = 253,
    Host = 254,
}

/// <summary>
/// A route in the main table: to <see cref="Destination"/> out of <see cref="InterfaceIndex"/>
/// (0: none given, the kernel picks by the gateway), optionally via <see cref="Gateway"/>
/// (<see cref="OnLink"/>: without the kernel checking the gateway is reachable on that link).
/// </summary>
public sealed record RouteSpec(IPNetwork Destination, int InterfaceIndex, IPAddress? Gateway, bool OnLink, RouteScope Scope, byte Protocol);

/// <summary>A change to ask the kernel for; see <see cref="IRouteNetlink.Execute"/>.</summary>
public abstract record NetlinkRequest;

/// <summary>Sets <c>IFF_UP</c> on the link.</summary>
public sealed record SetLinkUp(int InterfaceIndex) : NetlinkRequest;

/// <summary>Adds the route, or replaces the one to the same destination (<c>NLM_F_CREATE | NLM_F_REPLACE</c>), whatever its protocol.</summary>
public sealed record ReplaceRoute(RouteSpec Route) : NetlinkRequest;

/// <summary>
/// Adds the route only if no route to that destination exists (<c>NLM_F_CREATE | NLM_F_EXCL</c>):
/// <c>EEXIST</c> means another route, perhaps of another protocol, already holds it.
/// </summary>
public sealed record AddRoute(RouteSpec Route) : NetlinkRequest;

/// <summary>Deletes the route to that destination with that protocol.</summary>
public sealed record DeleteRoute(RouteSpec Route) : NetlinkRequest;

/// <summary>A permanent neighbour entry: <paramref name="Address"/> is at <paramref name="LinkAddress"/> on the link.</summary>
public sealed record ReplaceNeighbor(int InterfaceIndex, IPAddress Address, byte[] LinkAddress) : NetlinkRequest;

/// <summary>A proxy entry (<c>NTF_PROXY</c>): the host answers neighbour solicitations for <paramref name="Address"/> on the link.</summary>
public sealed record ReplaceProxyNeighbor(int InterfaceIndex, IPAddress Address) : NetlinkRequest;

/// <summary>The kernel's answer to one request: an errno (positive, e.g. 19 for ENODEV), its name and the extended-ack message if it sent one.</summary>
public sealed record NetlinkError(int Errno, string Name, string? Message)
{
    public const int NoSuchEntry = 2;
    public const int NoSuchProcess = 3;
    public const int NoSuchDevice = 19;
    public const int Exists = 17;
    public const int NetworkIsDown = 100;
    public const int NetworkIsUnreachable = 101;

    public override string ToString() => Message is null ? $"{Name} ({Errno})" : $"{Name} ({Errno}): {Message}";
}

/// <summary>A link event; see <see cref="IRouteNetlink.WatchLinksAsync"/>.</summary>
public abstract record LinkEvent;

/// <summary>A link appeared or changed.</summary>
public sealed record LinkUpdated(LinkInfo Link) : LinkEvent;

/// <summary>A link went away.</summary>
public sealed record LinkDeleted(int Index, string Name) : LinkEvent;

/// <summary>The kernel dropped events (<c>ENOBUFS</c>): whatever was derived from them must be resynced.</summary>
public sealed record LinkEventsLost : LinkEvent;

/// <summary>The netlink socket failed, or the kernel's answer could not be read.</summary>
public sealed class NetlinkException : Exception
{
    public NetlinkException()
    {
    }

    public NetlinkException(string message)
        : base(message)
    {
    }

    public NetlinkException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
