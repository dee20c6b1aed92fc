using System.Net;

namespace Felix.Agent.Model;

/// <summary>
/// The keys of the Calico v1 layout (DESIGN.md §2) the agent acts on. Instances come from
/// <see cref="KeyParser"/>, which has already checked every id and hostname in them, so anything
/// holding a key may use its parts in names and log lines. <see cref="Path"/> is the etcd key the
/// record was parsed from (parsing accepts only the canonical spelling, so the two never differ);
/// <see cref="Kind"/> is the label the metrics use.
/// </summary>
public abstract record DatastoreKey
{
    public abstract string Path { get; }

    public abstract string Kind { get; }
}

/// <summary>The <see cref="DatastoreKey.Kind"/> labels, shared with <see cref="InvalidKey"/>.</summary>
public static class KeyKinds
{
    public const string Ready = "ready";
    public const string Config = "config";
    public const string HostIp = "host_ip";
    public const string Endpoint = "endpoint";
    public const string ProfileRules = "profile_rules";
    public const string ProfileTags = "profile_tags";
    public const string Pool = "pool";
}

public sealed record ReadyKey : DatastoreKey
{
    public override string Path => "/calico/v1/Ready";

    public override string Kind => KeyKinds.Ready;
}

public sealed record GlobalConfigKey(string Name) : DatastoreKey
{
    public override string Path => $"/calico/v1/config/{Name}";

    public override string Kind => KeyKinds.Config;
}

public sealed record HostConfigKey(string Hostname, string Name) : DatastoreKey
{
    public override string Path => $"/calico/v1/host/{Hostname}/config/{Name}";

    public override string Kind => KeyKinds.Config;
}

public sealed record HostIpKey(string Hostname) : DatastoreKey
{
    public override string Path => $"/calico/v1/host/{Hostname}/bird_ip";

    public override string Kind => KeyKinds.HostIp;
}

/// <summary>
/// The key of most of a cluster's keys. Its <see cref="Path"/> is kept, not rebuilt on each use:
/// the calculation orders endpoints by it and the route table owns routes by it, so at 100k
/// endpoints each rebuild was 100k strings; parsed from etcd, it is the very string etcd's key
/// arrived in. Equality and hashing are the four parts' (the path follows from them).
/// </summary>
public sealed record WorkloadEndpointKey(string Hostname, string OrchestratorId, string WorkloadId, string EndpointId)
    : DatastoreKey
{
    private string? _path;

    /// <param name="path">The canonical path of these parts, as parsed.</param>
    internal WorkloadEndpointKey(string hostname, string orchestratorId, string workloadId, string endpointId, string path)
        : this(hostname, orchestratorId, workloadId, endpointId)
    {
        _path = path;
    }

    // Not the generated copy: a `with` that changes a part must not keep the old path.
    private WorkloadEndpointKey(WorkloadEndpointKey original)
        : base(original)
    {
        Hostname = original.Hostname;
        OrchestratorId = original.OrchestratorId;
        WorkloadId = original.WorkloadId;
        EndpointId = original.EndpointId;
    }

    // Built at most once; two threads racing build equal strings, and either may be kept.
    public override string Path =>
        _path ??= $"/calico/v1/host/{Hostname}/workload/{OrchestratorId}/{WorkloadId}/endpoint/{EndpointId}";

    public override string Kind => KeyKinds.Endpoint;

    public bool Equals(WorkloadEndpointKey? other) =>
        ReferenceEquals(this, other)
        || (other is not null
            && string.Equals(Hostname, other.Hostname, StringComparison.Ordinal)
            && string.Equals(OrchestratorId, other.OrchestratorId, StringComparison.Ordinal)
            && string.Equals(WorkloadId, other.WorkloadId, StringComparison.Ordinal)
            && string.Equals(EndpointId, other.EndpointId, StringComparison.Ordinal));

    public override int GetHashCode() => HashCode.Combine(Hostname, OrchestratorId, WorkloadId, EndpointId);
}

public sealed record ProfileRulesKey(string ProfileId) : DatastoreKey
{
    public override string Path => $"/calico/v1/policy/profile/{ProfileId}/rules";

    public override string Kind => KeyKinds.ProfileRules;
}

public sealed record ProfileTagsKey(string ProfileId) : DatastoreKey
{
    public override string Path => $"/calico/v1/policy/profile/{ProfileId}/tags";

    public override string Kind => KeyKinds.ProfileTags;
}

/// <summary>A pool key names its network with the '/' written as '-': <c>10.0.0.0-8</c>.</summary>
public sealed record IpPoolKey(IpVersion Version, IPNetwork Cidr) : DatastoreKey
{
    public override string Path =>
        $"/calico/v1/ipam/v{(int)Version}/pool/{Cidr.BaseAddress}-{Cidr.PrefixLength}";

    public override string Kind => KeyKinds.Pool;
}
