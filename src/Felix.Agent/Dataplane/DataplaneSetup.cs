using Felix.Dataplane.Netlink;

namespace Felix.Agent.Dataplane;

/// <summary>
/// The kernel objects and managers the driver runs, built once at start (the iptables backend is
/// detected then). The netlink connection is the driver's to watch for link events and to close.
/// </summary>
internal sealed record DataplaneSetup(
    DataplaneApplier Applier,
    IReadOnlyList<IDataplaneManager> Managers,
    EndpointManager Endpoints,
    IpSetManager Sets,
    IRouteNetlink Netlink) : IDisposable
{
    public void Dispose() => Netlink.Dispose();
}
