using Felix.Dataplane;
using Felix.Dataplane.Netlink;

namespace Felix.IntegrationTests.Routes;

/// <summary>
/// The real netlink, with every request it was asked to execute kept: a test asserts what the
/// table wrote, not only what the kernel ended up with (which a rewrite of everything would also give).
/// </summary>
internal sealed class CountingNetlink(IRouteNetlink inner) : IRouteNetlink
{
    public List<NetlinkRequest> Requests { get; } = [];

    public IReadOnlyList<LinkInfo> ListLinks() => inner.ListLinks();

    public IReadOnlyList<RouteSpec> ListRoutes(IpVersion family, byte protocol) => inner.ListRoutes(family, protocol);

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
