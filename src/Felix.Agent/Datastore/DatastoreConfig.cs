using Felix.Agent.Hosting.Configuration;
using Felix.Agent.Model;

namespace Felix.Agent.Datastore;

/// <summary>
/// The config values etcd holds for this agent — global (<c>/calico/v1/config/</c>) and this host's
/// (<c>/calico/v1/host/&lt;host&gt;/config/</c>) — as the two datastore layers of the precedence chain.
/// </summary>
public sealed class DatastoreConfig
{
    private readonly SortedDictionary<string, ConfigEntry> _global = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, ConfigEntry> _host = new(StringComparer.Ordinal);

    /// <summary>Records a config update; returns false for updates of other kinds.</summary>
    public bool Apply(DatastoreUpdate update)
    {
        switch (update)
        {
            case ConfigChanged { Key: GlobalConfigKey key } changed:
                _global[key.Name] = new ConfigEntry(key.Name, changed.Value.Raw, $"etcd {key.Path}");
                return true;
            case ConfigChanged { Key: HostConfigKey key } changed:
                _host[key.Name] = new ConfigEntry(key.Name, changed.Value.Raw, $"etcd {key.Path}");
                return true;
            case ConfigRemoved { Key: GlobalConfigKey key }:
                _global.Remove(key.Name);
                return true;
            case ConfigRemoved { Key: HostConfigKey key }:
                _host.Remove(key.Name);
                return true;
            default:
                return false;
        }
    }

    public IReadOnlyList<ConfigLayer> Layers() =>
    [
        new ConfigLayer(ConfigLayerKind.DatastorePerHost, [.. _host.Values]),
        new ConfigLayer(ConfigLayerKind.DatastoreGlobal, [.. _global.Values]),
    ];
}
