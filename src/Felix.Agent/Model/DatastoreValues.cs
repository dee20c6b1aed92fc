using System.Net;

namespace Felix.Agent.Model;

/// <summary>
/// The values of the <see cref="DatastoreKey"/>s, as <see cref="ValueParser"/> produces
/// them: validated, canonical (lowercase MACs, networks without host bits) and compared by value,
/// so two parses of the same bytes are equal and the sync can tell a real change from a re-read.
/// Lists are stored as <see cref="EquatableList{T}"/> whatever list the constructor is given.
/// </summary>
public abstract record DatastoreValue;

/// <summary><c>/calico/v1/Ready</c>: the raw string <c>true</c> or <c>false</c>.</summary>
public sealed record ReadyFlag(bool IsReady) : DatastoreValue;

/// <summary>A config value as written; the config resolver checks it against its parameter.</summary>
public sealed record ConfigValue(string Raw) : DatastoreValue;

/// <summary>A host's IPv4 address (<c>bird_ip</c>), for routes to remote workloads.</summary>
public sealed record HostIp(IPAddress Address) : DatastoreValue;

public enum EndpointState
{
    Active,
    Inactive,
}

/// <summary>
/// A workload endpoint. <see cref="Mac"/> is lowercase with colons, or null when the endpoint
/// does not give one (older orchestrator plugins did not); nets are single addresses (/32, /128).
/// </summary>
public sealed record WorkloadEndpoint(
    EndpointState State,
    string Name,
    string? Mac,
    IReadOnlyList<string> ProfileIds,
    IReadOnlyList<IPNetwork> Ipv4Nets,
    IReadOnlyList<IPNetwork> Ipv6Nets,
    IPAddress? Ipv4Gateway,
    IPAddress? Ipv6Gateway) : DatastoreValue
{
    /// <summary>Profiles in the order their chains are jumped to.</summary>
    public IReadOnlyList<string> ProfileIds { get; init => field = EquatableList.From(value); } =
        EquatableList.From(ProfileIds);

    public IReadOnlyList<IPNetwork> Ipv4Nets { get; init => field = EquatableList.From(value); } =
        EquatableList.From(Ipv4Nets);

    public IReadOnlyList<IPNetwork> Ipv6Nets { get; init => field = EquatableList.From(value); } =
        EquatableList.From(Ipv6Nets);
}

public sealed record ProfileRules(IReadOnlyList<Rule> Inbound, IReadOnlyList<Rule> Outbound) : DatastoreValue
{
    public IReadOnlyList<Rule> Inbound { get; init => field = EquatableList.From(value); } =
        EquatableList.From(Inbound);

    public IReadOnlyList<Rule> Outbound { get; init => field = EquatableList.From(value); } =
        EquatableList.From(Outbound);
}

public sealed record ProfileTags(IReadOnlyList<string> Tags) : DatastoreValue
{
    public IReadOnlyList<string> Tags { get; init => field = EquatableList.From(value); } = EquatableList.From(Tags);
}

/// <summary>An IPAM pool; its family and network are those of its key.</summary>
public sealed record IpPool(IPNetwork Cidr, bool Masquerade) : DatastoreValue;
