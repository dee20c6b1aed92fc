using Prometheus;

namespace Felix.Agent.Datastore;

/// <summary>The sync's phases as <c>felix_resync_state</c> reports them.</summary>
public enum ResyncState
{
    Connecting = 0,
    Resyncing = 1,
    InSync = 2,
    WaitingForReady = 3,
}

/// <summary>The datastore's Prometheus metrics (DESIGN.md §5).</summary>
public sealed class DatastoreMetrics
{
    private readonly Counter _resyncsStarted;
    private readonly Gauge _resyncState;
    private readonly Counter _invalidKeys;
    private readonly Gauge _hosts;
    private readonly Gauge _endpoints;
    private readonly Gauge _profiles;

    public DatastoreMetrics(IMetricFactory metrics)
    {
        _resyncsStarted = metrics.CreateCounter("felix_resyncs_started", "Full reads of the datastore started (at start, after compaction or an outage).");
        _resyncState = metrics.CreateGauge("felix_resync_state",
            "Datastore sync: 0 connecting, 1 reading a snapshot, 2 in sync, 3 waiting for /calico/v1/Ready.");
        _invalidKeys = metrics.CreateCounter("felix_datastore_invalid_keys",
            "Datastore values rejected as invalid (and treated as absent), by kind of key.", ["kind"]);
        _hosts = metrics.CreateGauge("felix_cluster_num_hosts", "Hosts with workload endpoints or a host IP in the datastore.");
        _endpoints = metrics.CreateGauge("felix_cluster_num_workload_endpoints", "Workload endpoints in the cluster, on every host.");
        _profiles = metrics.CreateGauge("felix_cluster_num_profiles", "Profiles with rules or tags in the datastore.");
    }

    public void ResyncStarted() => _resyncsStarted.Inc();

    public void State(ResyncState state) => _resyncState.Set((int)state);

    public void Rejected(string kind) => _invalidKeys.WithLabels(kind).Inc();

    public void Cluster(ClusterCounts counts)
    {
        _hosts.Set(counts.Hosts);
        _endpoints.Set(counts.WorkloadEndpoints);
        _profiles.Set(counts.Profiles);
    }
}
