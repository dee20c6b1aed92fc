using Felix.Agent.Calculation;
using Felix.Dataplane.Routes;

namespace Felix.Agent.Dataplane;

/// <summary>
/// RemoteWorkloadRoutes: routes to other hosts' endpoints via their host's <c>bird_ip</c>, in the
/// IPv4 <see cref="RouteTable"/>, owned by the endpoint's key so a moved endpoint moves its routes.
/// The calculation only sends these updates when the parameter is on.
/// </summary>
internal sealed class RemoteRouteManager(RouteTable ipv4Routes) : IDataplaneManager
{
    public void OnUpdate(DataplaneUpdate update)
    {
        switch (update)
        {
            case RemoteEndpointRouteUpdate route:
                ipv4Routes.SetRemoteRoutes(route.Endpoint.Path, route.Destinations, route.HostIp);
                break;
            case RemoteEndpointRouteRemove route:
                ipv4Routes.RemoveRemoteRoutes(route.Endpoint.Path);
                break;
            case IpSetUpdate or IpSetDeltaUpdate or IpSetRemove or ProfileUpdate or ProfileRemove or EndpointUpdate
                or EndpointRemove or PoolUpdate or PoolRemove or InSync:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(update), update, "unknown dataplane update");
        }
    }

    public void CompleteDeferredWork()
    {
        // The route table records and diffs; nothing is deferred here.
    }
}
