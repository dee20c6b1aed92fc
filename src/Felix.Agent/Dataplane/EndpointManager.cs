using System.Net;
using System.Net.NetworkInformation;
using Felix.Agent.Calculation;
using Felix.Agent.Datastore;
using Felix.Agent.Model;
using Felix.Dataplane;
using Felix.Dataplane.Routes;
using Microsoft.Extensions.Logging;

namespace Felix.Agent.Dataplane;

/// <summary>
/// Local endpoints to what the host does for their interfaces: the <c>/32</c> (<c>/128</c>) routes
/// in the <see cref="RouteTable"/> of each family, and the interface settings (up, proxy ARP/NDP,
/// neighbour entries) in the <see cref="InterfaceConfigurator"/>. An inactive endpoint keeps its
/// chains (they drop) but gets no route and no configuration.
/// <para>
/// Two endpoints claiming one interface cannot both own it: the one whose key sorts first does, as
/// in the policy renderer, so chains and routes agree on the winner; the clash is logged once.
/// </para>
/// </summary>
internal sealed partial class EndpointManager(
    RouteTable ipv4Routes, RouteTable? ipv6Routes, InterfaceConfigurator interfaces, ILogger logger) : IDataplaneManager
{
    private readonly Dictionary<WorkloadEndpointKey, EndpointUpdate> _endpoints = [];
    private readonly Dictionary<string, SortedList<string, EndpointUpdate>> _byInterface = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly Dictionary<WorkloadEndpointKey, EndpointStatus> _reported = [];

    public int Count => _endpoints.Count;

    public void OnUpdate(DataplaneUpdate update)
    {
        switch (update)
        {
            case EndpointUpdate endpoint:
                // A clashing endpoint that changes stays in the same clash: it was logged when it began.
                var stillClaiming = _endpoints.TryGetValue(endpoint.Key, out var previous) && previous.InterfaceName == endpoint.InterfaceName;
                Forget(endpoint.Key);
                _endpoints[endpoint.Key] = endpoint;
                if (!_byInterface.TryGetValue(endpoint.InterfaceName, out var claimants))
                {
                    _byInterface[endpoint.InterfaceName] = claimants = new SortedList<string, EndpointUpdate>(StringComparer.Ordinal);
                }
                claimants[endpoint.Key.Path] = endpoint;
                if (claimants.Count == 2 && !stillClaiming)
                {
                    LogClash(logger, endpoint.InterfaceName, claimants.Keys[0], claimants.Keys[1]);
                }
                _dirty.Add(endpoint.InterfaceName);
                break;
            case EndpointRemove endpoint:
                Forget(endpoint.Key);
                break;
            case IpSetUpdate or IpSetDeltaUpdate or IpSetRemove or ProfileUpdate or ProfileRemove or PoolUpdate or PoolRemove
                or RemoteEndpointRouteUpdate or RemoteEndpointRouteRemove or InSync:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(update), update, "unknown dataplane update");
        }
    }

    public void CompleteDeferredWork()
    {
        foreach (var name in _dirty)
        {
            if (_byInterface.TryGetValue(name, out var claimants) && claimants.Values[0] is { State: EndpointState.Active } owner)
            {
                ipv4Routes.SetRoutes(name, owner.Ipv4Nets);
                ipv6Routes?.SetRoutes(name, owner.Ipv6Nets);
                interfaces.SetInterface(Interface(owner, ipv6Routes is not null));
            }
            else
            {
                ipv4Routes.RemoveInterface(name);
                ipv6Routes?.RemoveInterface(name);
                interfaces.RemoveInterface(name);
            }
        }
        _dirty.Clear();
    }

    /// <summary>
    /// Tells the status reporter what changed since the last call: up once its interface is
    /// configured, down while inactive or while its interface is missing.
    /// </summary>
    public void ReportStatus(IEndpointStatusReporter reporter)
    {
        foreach (var (key, endpoint) in _endpoints)
        {
            var status = endpoint.State == EndpointState.Active && interfaces.IsConfigured(endpoint.InterfaceName)
                ? EndpointStatus.Up
                : EndpointStatus.Down;
            if (!_reported.TryGetValue(key, out var last) || last != status)
            {
                _reported[key] = status;
                reporter.Report(key, status);
            }
        }
        foreach (var key in _reported.Keys.Where(k => !_endpoints.ContainsKey(k)).ToList())
        {
            _reported.Remove(key);
            reporter.Remove(key);
        }
    }

    private void Forget(WorkloadEndpointKey key)
    {
        if (!_endpoints.Remove(key, out var old))
        {
            return;
        }
        var claimants = _byInterface[old.InterfaceName];
        claimants.Remove(key.Path);
        if (claimants.Count == 0)
        {
            _byInterface.Remove(old.InterfaceName);
        }
        _dirty.Add(old.InterfaceName);
    }

    private static WorkloadInterface Interface(EndpointUpdate endpoint, bool ipv6)
    {
        // The model checked the MAC's form; PhysicalAddress wants dashes.
        var mac = endpoint.Mac is { } text ? PhysicalAddress.Parse(text.Replace(':', '-')) : null;
        return new WorkloadInterface(endpoint.InterfaceName, mac, Hosts(endpoint.Ipv4Nets, 32),
            ipv6 ? Hosts(endpoint.Ipv6Nets, 128) : [], ipv6 ? endpoint.Ipv6Gateway : null);
    }

    /// <summary>The single addresses among the endpoint's networks: the ones a neighbour entry can name.</summary>
    private static IEnumerable<IPAddress> Hosts(IEnumerable<IPNetwork> networks, int hostPrefix) =>
        networks.Where(n => n.PrefixLength == hostPrefix).Select(n => n.BaseAddress);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Interface {Interface} is claimed by endpoints {First} and {Second}; the first (by key) owns its chains, routes and settings")]
    private static partial void LogClash(ILogger logger, string @interface, string first, string second);
}
