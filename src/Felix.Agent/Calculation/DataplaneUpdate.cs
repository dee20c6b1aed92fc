using System.Net;
using Felix.Agent.Model;

namespace Felix.Agent.Calculation;

/// <summary>
/// What the calculation tells the dataplane: exactly the objects this host must program, as
/// changes against what it was told before. Every list is an <see cref="EquatableList{T}"/> and
/// every address list is sorted, so two batches describing the same state compare equal and a
/// test (or a dataplane deciding whether to rewrite a chain) can compare records directly.
/// </summary>
public abstract record DataplaneUpdate
{
    private protected DataplaneUpdate()
    {
    }
}

/// <summary>A tag's set for one IP family: <c>felix-v4-&lt;tag&gt;</c> / <c>felix-v6-&lt;tag&gt;</c>.</summary>
public readonly record struct IpSetId(string Tag, IpVersion Version)
{
    public override string ToString() => $"{Tag}/v{(int)Version}";
}

/// <summary>A set appears (or reappears) with all its members.</summary>
public sealed record IpSetUpdate(IpSetId Id, EquatableList<IPAddress> Members) : DataplaneUpdate;

/// <summary>A set the dataplane already has gains and loses members; never empty on both sides.</summary>
public sealed record IpSetDeltaUpdate(IpSetId Id, EquatableList<IPAddress> Added, EquatableList<IPAddress> Removed)
    : DataplaneUpdate;

public sealed record IpSetRemove(IpSetId Id) : DataplaneUpdate;

/// <summary>
/// An active profile (one a local endpoint uses). <see cref="Rules"/> is null when the profile is
/// referenced but its rules are not (or no longer) in the datastore: the dataplane installs a chain
/// that drops everything, so the endpoint's chain can jump to it and fail closed until the rules
/// arrive, rather than the calculation holding the endpoint back or silently skipping the profile.
/// </summary>
public sealed record ProfileUpdate(string ProfileId, ProfileRules? Rules) : DataplaneUpdate;

public sealed record ProfileRemove(string ProfileId) : DataplaneUpdate;

/// <summary>
/// A local endpoint. An inactive one still appears (its chain drops everything and it gets no
/// route) with its profiles, which stay active so flipping the state does not churn chains.
/// </summary>
public sealed record EndpointUpdate(
    WorkloadEndpointKey Key,
    EndpointState State,
    string InterfaceName,
    string? Mac,
    EquatableList<string> ProfileIds,
    EquatableList<IPNetwork> Ipv4Nets,
    EquatableList<IPNetwork> Ipv6Nets,
    IPAddress? Ipv4Gateway,
    IPAddress? Ipv6Gateway) : DataplaneUpdate;

public sealed record EndpointRemove(WorkloadEndpointKey Key) : DataplaneUpdate;

public sealed record PoolUpdate(IpPoolKey Key, IpPool Pool) : DataplaneUpdate;

public sealed record PoolRemove(IpPoolKey Key) : DataplaneUpdate;

/// <summary>
/// The IPv4 addresses of an active endpoint on another host, routed via that host's
/// <c>bird_ip</c> (only IPv4: <c>bird_ip</c> is an IPv4 address). Emitted only with
/// RemoteWorkloadRoutes on, and only while the host's <c>bird_ip</c> is known.
/// </summary>
public sealed record RemoteEndpointRouteUpdate(
    WorkloadEndpointKey Endpoint,
    EquatableList<IPNetwork> Destinations,
    IPAddress HostIp) : DataplaneUpdate;

public sealed record RemoteEndpointRouteRemove(WorkloadEndpointKey Endpoint) : DataplaneUpdate;

/// <summary>Everything the datastore held when it reported in sync has now been emitted.</summary>
public sealed record InSync : DataplaneUpdate;
