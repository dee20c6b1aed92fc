using System.Runtime.CompilerServices;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Tests.Fakes;

namespace Felix.Agent.Tests.Dataplane;

/// <summary>
/// The fake rtnetlink as the driver sees it, saying when the driver's link watch has started: the
/// fake only announces a link change to watchers present at that moment, so a test that makes a
/// link must wait for <see cref="Watching"/> or the event could go nowhere.
/// </summary>
internal sealed class WatchedNetlink(FakeRouteNetlink fake) : IRouteNetlink
{
    private readonly TaskCompletionSource _watching = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Watching => _watching.Task;

    public IReadOnlyList<LinkInfo> ListLinks() => fake.ListLinks();

    public IReadOnlyList<RouteSpec> ListRoutes(IpVersion family, byte protocol) => fake.ListRoutes(family, protocol);

    public IReadOnlyList<NetlinkError?> Execute(IReadOnlyList<NetlinkRequest> requests) => fake.Execute(requests);

    public async IAsyncEnumerable<LinkEvent> WatchLinksAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var events = fake.WatchLinksAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        // An async iterator runs to its first real wait inside MoveNextAsync: the fake's watcher is registered once this returns.
        var next = events.MoveNextAsync();
        _watching.TrySetResult();
        while (await next)
        {
            yield return events.Current;
            next = events.MoveNextAsync();
        }
    }

    public void Dispose() => fake.Dispose();
}
