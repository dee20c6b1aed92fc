using Felix.Dataplane.Netlink;

namespace Felix.Agent.Dataplane;

/// <summary>
/// The kernel objects and managers the driver runs, built once at start (the iptables backend is
/// detected then). The netlink connections are the driver's to close, and the route one to watch
/// for link events.
/// </summary>
internal sealed record DataplaneSetup(
    DataplaneApplier Applier,
    IReadOnlyList<IDataplaneManager> Managers,
    EndpointManager Endpoints,
    IpSetManager Sets,
    IRouteNetlink Netlink,
    IConntrackNetlink Conntrack) : IDisposable
{
    public void Dispose()
    {
        Netlink.Dispose();
        Conntrack.Dispose();
    }
}
