using System.Net;
using System.Net.Sockets;
using Felix.Dataplane.Netlink;

namespace Felix.Dataplane.Routes;

/// <summary>
/// Where a destination is routed: out of a local interface (<see cref="Interface"/>), or via a
/// gateway (<see cref="Gateway"/>, a remote host). Both null: out of a link whose name is unknown.
/// </summary>
internal readonly record struct RouteTarget(string? Interface, IPAddress? Gateway)
{
    public override string ToString() => Gateway is not null ? $"via {Gateway}" : Interface is not null ? $"dev {Interface}" : "dev (unknown)";
}

/// <summary>
/// One wish for a destination: a local interface's (<see cref="Gateway"/> null, <see cref="Owner"/>
/// the interface name) or a remote endpoint's (<see cref="Owner"/> its key, routed via <see cref="Gateway"/>).
/// </summary>
internal readonly record struct RouteClaim(string Owner, IPAddress? Gateway)
{
    public RouteTarget Target => Gateway is null ? new RouteTarget(Owner, null) : new RouteTarget(null, Gateway);

    /// <summary>
    /// Which claim wins when several want one destination: a local interface over a remote endpoint
    /// (the workload is here, whatever a lagging remote record says), then the ordinal-first owner,
    /// so the choice does not depend on the order updates came in and a restart makes the same one.
    /// </summary>
    public bool Beats(RouteClaim other) =>
        (Gateway is null) != (other.Gateway is null) ? Gateway is null : string.CompareOrdinal(Owner, other.Owner) < 0;
}

/// <summary>What the table knows about one destination: who wants it routed where, and what the kernel holds.</summary>
internal sealed class RouteState(IPNetwork destination)
{
    public IPNetwork Destination { get; } = destination;

    // Usually one claim; several only while endpoints disagree about an address. At 100k remote
    // endpoints a list per destination was two objects each, so the first claim is held inline.
    private RouteClaim _claim;
    private List<RouteClaim>? _moreClaims;

    public int ClaimCount => _claim.Owner is null ? 0 : 1 + (_moreClaims?.Count ?? 0);

    /// <summary>Who wants the destination routed, in the order they asked.</summary>
    public IEnumerable<string> ClaimOwners =>
        _claim.Owner is null ? [] : [_claim.Owner, .. (_moreClaims ?? []).Select(c => c.Owner)];

    public void AddClaim(RouteClaim claim)
    {
        if (_claim.Owner is null)
        {
            _claim = claim;
        }
        else
        {
            (_moreClaims ??= []).Add(claim);
        }
    }

    public void RemoveClaim(RouteClaim claim)
    {
        if (_claim == claim)
        {
            _claim = _moreClaims is [var next, ..] ? next : default;
            _moreClaims?.RemoveAt(0);
        }
        else
        {
            _moreClaims?.Remove(claim);
        }
        if (_moreClaims is [])
        {
            _moreClaims = null;
        }
    }

    /// <summary>Our route to the destination as the kernel holds it (read back, then kept from our own writes), or null.</summary>
    public RouteSpec? Kernel
    {
        get;
        set
        {
            field = value;
            KernelPrint = KernelPrint.Of(value);
        }
    }

    /// <summary><see cref="Kernel"/> packed, for a read-back to compare a dumped IPv4 route with (see <c>RouteTable.KnownRoutes</c>).</summary>
    public KernelPrint KernelPrint { get; private set; }

    /// <summary>Where our route was in the last route dump (see <c>RouteTable.KnownRoutes</c>).</summary>
    public int DumpIndex { get; set; } = -1;

    /// <summary>
    /// The target the address was last routed to on purpose. When the destination's target changes
    /// from this, the flows of whatever was there before are flushed from conntrack.
    /// </summary>
    public RouteTarget? Wanted { get; set; }

    /// <summary>Waiting for its conntrack entries to be flushed; it is routed anew only after.</summary>
    public bool FlushPending { get; set; }

    /// <summary>The gateway the kernel last refused as unreachable (ENETUNREACH); not retried until links change or a read-back.</summary>
    public IPAddress? UnreachableGateway { get; set; }

    /// <summary>A route of another protocol holds the destination (our add met EEXIST): left alone until the next read-back or claim change.</summary>
    public bool ForeignHeld { get; set; }

    /// <summary>The last read-back that found our route to the destination (see <c>RouteTable.Adopt</c>).</summary>
    public int ReadBackGeneration { get; set; }

    /// <summary>Whether the operator has been told about the foreign route, so each refresh's retry does not say it again.</summary>
    public bool ForeignLogged { get; set; }

    public RouteTarget? Winner
    {
        get
        {
            if (_claim.Owner is null)
            {
                return null;
            }
            var best = _claim;
            foreach (var claim in _moreClaims ?? [])
            {
                if (claim.Beats(best))
                {
                    best = claim;
                }
            }
            return best.Target;
        }
    }

    /// <summary>Nothing wants it, the kernel has none of ours, and nothing is owed: the state can go.</summary>
    public bool IsIdle => _claim.Owner is null && Kernel is null && Wanted is null && !FlushPending;

    /// <summary>A single address (<c>/32</c>, <c>/128</c>): the only kind whose conntrack entries are flushed.</summary>
    public bool IsHost => Destination.PrefixLength == (Destination.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
}
