using System.Net;
using Felix.Dataplane;
using Felix.Dataplane.Netlink;

namespace Felix.IntegrationTests.Routes;

/// <summary>
/// The real netlink, with every request it was asked to execute kept: a test asserts what the
/// table wrote, not only what the kernel ended up with (which a rewrite of everything would also give).
/// Listings and lookups are counted, so a test can say what a read-back asked the kernel.
/// </summary>
internal sealed class CountingNetlink(IRouteNetlink inner) : IRouteNetlink
{
    public List<NetlinkRequest> Requests { get; } = [];

    public int ListLinksCalls { get; private set; }

    public List<LinkKey> LinkLookups { get; } = [];

    public IReadOnlyList<LinkInfo> ListLinks()
    {
        ListLinksCalls++;
        return inner.ListLinks();
    }

    public IReadOnlyList<LinkInfo?> GetLinks(IReadOnlyList<LinkKey> keys)
    {
        LinkLookups.AddRange(keys);
        return inner.GetLinks(keys);
    }

    public IReadOnlyList<int> GetRouteInterfaces(IReadOnlyList<IPAddress> addresses) => inner.GetRouteInterfaces(addresses);

    public IReadOnlyList<RouteSpec> ListRoutes(IpVersion family, byte protocol) => inner.ListRoutes(family, protocol);

    public void ListRoutes(IpVersion family, byte protocol, IKnownRoutes known, List<RouteSpec> others) => inner.ListRoutes(family, protocol, known, others);

    public IReadOnlyList<NetlinkError?> Execute(IReadOnlyList<NetlinkRequest> requests)
    {
        Requests.AddRange(requests);
        return inner.Execute(requests);
    }

    public IAsyncEnumerable<LinkEvent> WatchLinksAsync(CancellationToken cancellationToken) => inner.WatchLinksAsync(cancellationToken);

    // The inner netlink is the test's to dispose.
    public void Dispose()
    {
    }
}
