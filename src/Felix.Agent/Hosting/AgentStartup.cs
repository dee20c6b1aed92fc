using Felix.Agent.Datastore;
using Felix.Agent.Datastore.Etcd;
using Felix.Agent.Hosting.Configuration;

namespace Felix.Agent.Hosting;

/// <summary>
/// What start-up learned before the host was built: the local config layers (the config monitor
/// re-resolves against them), etcd's config values, and the connection to etcd.
/// </summary>
public sealed record AgentStartup(
    FelixConfig Config,
    IReadOnlyList<ConfigLayer> LocalLayers,
    DatastoreConfig DatastoreConfig,
    EtcdConnection Etcd,
    IReadOnlyList<string> Warnings);
