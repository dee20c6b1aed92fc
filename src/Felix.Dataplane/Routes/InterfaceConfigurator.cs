using Felix.Dataplane.Netlink;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Routes;

/// <summary>
/// Design: the host side of every local workload interface, and the namespace-wide forwarding
/// switches. It holds the wanted interfaces (recorded by <see cref="SetInterface"/> and
/// <see cref="RemoveInterface"/>, no I/O) and the links of the namespace (listed, then kept from
/// the link events the caller passes to <see cref="OnLinkEvent"/>). <see cref="Apply"/> configures
/// every wanted interface that is present and not yet configured on its current link: its kernel
/// parameters first, each read and written only when it differs (so a restart writes nothing),
/// then one pipelined netlink batch for all of them — link up, a permanent neighbour entry per
/// workload address, a proxy entry for the IPv6 gateway.
/// <para>
/// Workload interfaces come and go at any moment: one missing, or vanishing half-way (its
/// parameters gone, <c>ENODEV</c> from netlink), simply waits for its link event; a recreated one
/// has a new index and is configured again. Every refresh interval the links are listed again and
/// everything is re-checked and re-sent, which repairs what someone changed by hand (neighbour
/// entries cannot be read back through the seam, and re-sending is a few microseconds each); the
/// re-checks of a pass are spread over applies, a few hundred each, so a pass over 10k interfaces
/// never holds a change back for more than a few tens of milliseconds.
/// </para>
/// <para>
/// Per interface (IPv4, always): <c>proxy_arp=1</c> so the host answers the workload's ARP for any
/// address (its gateway is a link-local address nobody holds); <c>neigh/…/proxy_delay=0</c> so it
/// answers at once; <c>rp_filter=1</c>, strict reverse-path filtering, so a workload cannot send
/// from an address routed elsewhere; <c>forwarding=1</c>, because the kernel checks forwarding on
/// the interface a packet arrives on and a new interface copies <c>conf/default</c>, which an
/// operator may have turned off after <c>ip_forward</c>; and <c>route_localnet=1</c> only when the
/// metadata server is on loopback (see <see cref="InterfaceConfiguratorOptions.RouteLocalnet"/>).
/// <c>accept_ra=0</c> always, IPv6 support on or off: otherwise a workload could send router
/// advertisements and give the host a route through itself. With IPv6 support and IPv6 addresses:
/// <c>proxy_ndp=1</c> and <c>forwarding=1</c>. Deliberately not touched: <c>disable_ipv6</c> (the
/// host's choice, as for the original agent) and <c>conf/all</c>/<c>conf/default</c> (every other
/// interface of the host).
/// </para>
/// <para>
/// Globally: <c>ip_forward=1</c>, and with IPv6 support <c>conf/all/forwarding=1</c>, checked at
/// start and every refresh. <c>conf/all/rp_filter=2</c> (loose) is reported, not changed: the kernel
/// uses the larger of it and the interface's value, but the loose check only differs from the
/// strict one on an interface holding an IPv4 address, and workload interfaces hold none, so a
/// spoofed source is still rejected (and the from-endpoint chains drop it again).
/// </para>
/// Not thread-safe: the record methods and <see cref="Apply"/> run on the one apply loop.
/// </summary>
public sealed partial class InterfaceConfigurator
{
    private readonly IRouteNetlink _netlink;
    private readonly ISysctls _sysctls;
    private readonly InterfaceMetrics _metrics;
    private readonly ILogger _logger;
    private readonly InterfaceConfiguratorOptions _options;
    private readonly TimeProvider _clock;
    private readonly Dictionary<string, InterfaceState> _wanted = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LinkInfo> _links = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _linkNames = [];

    /// <summary>
    /// Links we set up whose "up" event has not come back yet. Events arrive in order, so a "down"
    /// event for one of them is older than our change (typically the link's creation) and not
    /// drift; the "up" event, a listing or the link's removal ends the wait.
    /// </summary>
    private readonly HashSet<int> _upSent = [];

    /// <summary>Wanted interfaces not known to be configured on their current link (present or not).</summary>
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);

    /// <summary>Configured interfaces a refresh re-checks, a few per apply (see <see cref="InterfaceConfiguratorOptions.MaxRechecksPerApply"/>).</summary>
    private readonly Queue<string> _recheck = new();
    private bool _listNeeded = true;
    private bool _resendAll;
    private Backoff _listRetry;
    private bool _globalsNeeded = true;
    private Backoff _globalsRetry;
    private long _nextRefresh;

    public InterfaceConfigurator(IRouteNetlink netlink, ISysctls sysctls, InterfaceMetrics metrics, ILogger logger,
        InterfaceConfiguratorOptions options, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(netlink);
        ArgumentNullException.ThrowIfNull(sysctls);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRechecksPerApply, 1, nameof(options));
        _netlink = netlink;
        _sysctls = sysctls;
        _metrics = metrics;
        _logger = logger;
        _options = options;
        _clock = clock;
    }

    /// <summary>
    /// Whether an apply would do anything now: list links, check the globals, or configure a
    /// present interface. Work waiting on a retry delay or on an absent interface does not count.
    /// </summary>
    public bool HasPendingWork
    {
        get
        {
            var now = _clock.GetTimestamp();
            return RefreshDue
                || (_listNeeded && _listRetry.NotBefore <= now)
                || (_globalsNeeded && _globalsRetry.NotBefore <= now)
                || _recheck.Count > 0
                || _dirty.Any(n => _links.ContainsKey(n) && _wanted[n].Retry.NotBefore <= now);
        }
    }

    /// <summary>Whether the periodic refresh (every refresh interval) is due.</summary>
    public bool RefreshDue => _clock.GetTimestamp() >= _nextRefresh;

    /// <summary>Has the next apply list the links and check and re-send everything: a suspicion of drift.</summary>
    public void RequestRefresh() => _nextRefresh = 0;

    /// <summary>Wants the interface configured as <paramref name="workload"/> says; the same again is no work.</summary>
    public void SetInterface(WorkloadInterface workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        if (_wanted.TryGetValue(workload.Name, out var state))
        {
            if (state.Spec.Equals(workload))
            {
                return;
            }
            state.Spec = workload;
            // Configured afresh (logged as such, not as drift), with no wait left over from the old spec.
            state.ConfiguredIndex = 0;
            state.Retry = default;
        }
        else
        {
            _wanted[workload.Name] = new InterfaceState(workload);
        }
        _dirty.Add(workload.Name);
    }

    /// <summary>
    /// Nothing wants the interface any more. Its parameters and neighbour entries are left as they
    /// are: the interface normally goes with its workload, and one that stays is harmless so.
    /// </summary>
    public void RemoveInterface(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_wanted.Remove(name))
        {
            _dirty.Remove(name);
            UpdateGauges();
        }
    }

    /// <summary>
    /// A link event from <see cref="IRouteNetlink.WatchLinksAsync"/>. Start watching before the
    /// first <see cref="Apply"/>, so no change between its listing and the first event is missed.
    /// </summary>
    public void OnLinkEvent(LinkEvent linkEvent)
    {
        ArgumentNullException.ThrowIfNull(linkEvent);
        switch (linkEvent)
        {
            case LinkUpdated { Link: var link }:
                LinkPresent(link);
                break;
            case LinkDeleted deleted:
                LinkAbsent(deleted.Index);
                break;
            case LinkEventsLost:
                // Anything may have happened, a down/up that flushed the neighbour entries included.
                _listNeeded = true;
                _resendAll = true;
                break;
            default:
                throw new ArgumentException($"unknown link event {linkEvent}", nameof(linkEvent));
        }
    }

    /// <summary>The wanted interface, for diagnostics and tests; null when not wanted.</summary>
    public WorkloadInterface? Wanted(string name) => _wanted.TryGetValue(name, out var state) ? state.Spec : null;

    /// <summary>Whether the interface is wanted, present, and configured on its current link.</summary>
    public bool IsConfigured(string name) =>
        _wanted.TryGetValue(name, out var state) && _links.TryGetValue(name, out var link) && state.ConfiguredIndex == link.Index && !_dirty.Contains(name);

    private void LinkPresent(LinkInfo link)
    {
        if (_linkNames.TryGetValue(link.Index, out var oldName) && oldName != link.Name)
        {
            // Renamed: under its old name there is nothing any more.
            Forget(oldName, link.Index);
        }
        if (_links.TryGetValue(link.Name, out var previous) && previous.Index != link.Index)
        {
            _linkNames.Remove(previous.Index);
        }
        if (link.IsUp)
        {
            _upSent.Remove(link.Index);
        }
        else if (_upSent.Contains(link.Index))
        {
            link = link with { IsUp = true };
        }
        _links[link.Name] = link;
        _linkNames[link.Index] = link.Name;
        if (_wanted.TryGetValue(link.Name, out var state) && (state.ConfiguredIndex != link.Index || !link.IsUp))
        {
            if (state.ConfiguredIndex != link.Index)
            {
                // A new link (created or recreated) is configured at once, whatever the old one's wait.
                state.ConfiguredIndex = 0;
                state.Retry = default;
            }
            _dirty.Add(link.Name);
        }
    }

    private void LinkAbsent(int index)
    {
        if (_linkNames.TryGetValue(index, out var name))
        {
            Forget(name, index);
        }
    }

    /// <summary>The link <paramref name="index"/> named <paramref name="name"/> is gone; a wanted interface of that name waits for its next link.</summary>
    private void Forget(string name, int index)
    {
        if (_links.TryGetValue(name, out var link) && link.Index == index)
        {
            _links.Remove(name);
        }
        _linkNames.Remove(index);
        _upSent.Remove(index);
        if (_wanted.TryGetValue(name, out var state))
        {
            state.ConfiguredIndex = 0;
            state.Retry = default;
            _dirty.Add(name);
        }
    }

    private void UpdateGauges()
    {
        var present = 0;
        var configured = 0;
        foreach (var (name, state) in _wanted)
        {
            if (_links.TryGetValue(name, out var link))
            {
                present++;
                if (state.ConfiguredIndex == link.Index && !_dirty.Contains(name))
                {
                    configured++;
                }
            }
        }
        _metrics.Configured.Set(configured);
        _metrics.Waiting.Set(_wanted.Count - present);
    }

    private sealed class InterfaceState(WorkloadInterface spec)
    {
        public WorkloadInterface Spec { get; set; } = spec;

        /// <summary>The index of the link it was last fully configured on; 0 while not configured since it appeared or changed.</summary>
        public int ConfiguredIndex { get; set; }

        public Backoff Retry { get; set; }
    }

    /// <summary>Failures in a row, and the timestamp before which nothing is tried again.</summary>
    private readonly record struct Backoff(int Failures, long NotBefore);
}
