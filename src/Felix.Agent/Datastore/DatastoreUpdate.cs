using Felix.Agent.Model;

namespace Felix.Agent.Datastore;

/// <summary>
/// What the datastore tells the rest of the agent: one record per kind of object, set or removed,
/// and <see cref="DatastoreInSync"/> once everything up to now has been delivered. Removal means
/// "absent or invalid": consumers never see an invalid value.
/// </summary>
public abstract record DatastoreUpdate
{
    private protected DatastoreUpdate()
    {
    }

    /// <summary>The update that brings a consumer from "nothing" to <paramref name="value"/> at <paramref name="key"/>.</summary>
    public static DatastoreUpdate Set(DatastoreKey key, DatastoreValue value) => (key, value) switch
    {
        (WorkloadEndpointKey k, WorkloadEndpoint v) => new WorkloadEndpointChanged(k, v),
        (ProfileRulesKey k, ProfileRules v) => new ProfileRulesChanged(k, v),
        (ProfileTagsKey k, ProfileTags v) => new ProfileTagsChanged(k, v),
        (IpPoolKey k, IpPool v) => new IpPoolChanged(k, v),
        (HostIpKey k, HostIp v) => new HostIpChanged(k, v),
        (GlobalConfigKey k, ConfigValue v) => new ConfigChanged(k, v),
        (HostConfigKey k, ConfigValue v) => new ConfigChanged(k, v),
        _ => throw new ArgumentException($"no update for a {value.GetType().Name} at {key.Path}", nameof(value)),
    };

    public static DatastoreUpdate Remove(DatastoreKey key) => key switch
    {
        WorkloadEndpointKey k => new WorkloadEndpointRemoved(k),
        ProfileRulesKey k => new ProfileRulesRemoved(k),
        ProfileTagsKey k => new ProfileTagsRemoved(k),
        IpPoolKey k => new IpPoolRemoved(k),
        HostIpKey k => new HostIpRemoved(k),
        GlobalConfigKey or HostConfigKey => new ConfigRemoved(key),
        _ => throw new ArgumentException($"no removal for {key.Path}", nameof(key)),
    };
}

public sealed record WorkloadEndpointChanged(WorkloadEndpointKey Key, WorkloadEndpoint Endpoint) : DatastoreUpdate;

public sealed record WorkloadEndpointRemoved(WorkloadEndpointKey Key) : DatastoreUpdate;

public sealed record ProfileRulesChanged(ProfileRulesKey Key, ProfileRules Rules) : DatastoreUpdate;

public sealed record ProfileRulesRemoved(ProfileRulesKey Key) : DatastoreUpdate;

public sealed record ProfileTagsChanged(ProfileTagsKey Key, ProfileTags Tags) : DatastoreUpdate;

public sealed record ProfileTagsRemoved(ProfileTagsKey Key) : DatastoreUpdate;

public sealed record IpPoolChanged(IpPoolKey Key, IpPool Pool) : DatastoreUpdate;

public sealed record IpPoolRemoved(IpPoolKey Key) : DatastoreUpdate;

public sealed record HostIpChanged(HostIpKey Key, HostIp HostIp) : DatastoreUpdate;

public sealed record HostIpRemoved(HostIpKey Key) : DatastoreUpdate;

/// <summary>A global (<see cref="GlobalConfigKey"/>) or this host's (<see cref="HostConfigKey"/>) config value.</summary>
public sealed record ConfigChanged(DatastoreKey Key, ConfigValue Value) : DatastoreUpdate;

public sealed record ConfigRemoved(DatastoreKey Key) : DatastoreUpdate;

/// <summary>Everything etcd held at some revision has been delivered, and <c>/calico/v1/Ready</c> is true.</summary>
public sealed record DatastoreInSync : DatastoreUpdate;
