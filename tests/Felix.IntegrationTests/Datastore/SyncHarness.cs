using System.Collections.Concurrent;
using System.Threading.Channels;
using Felix.Agent.Datastore;
using Felix.Agent.Datastore.Etcd;
using Felix.Agent.Hosting.Health;
using Felix.Agent.Model;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Datastore;

/// <summary>
/// An <see cref="EtcdSyncer"/> against a real etcd, with every delivered update recorded in order
/// and the health it reports, as the agent wires it (but without the rest of the agent).
/// </summary>
internal sealed class SyncHarness : IAsyncDisposable
{
    public const string Host = "host1";
    private readonly AgentEtcd _etcd;
    private readonly EtcdSyncer _syncer;
    private readonly Channel<DatastoreUpdate> _updates = Channel.CreateUnbounded<DatastoreUpdate>();
    private readonly ConcurrentQueue<DatastoreUpdate> _received = new();
    private readonly Task _reader;

    public SyncHarness(string etcdUrl, Func<IEtcdStore, IEtcdStore>? wrap = null)
    {
        _etcd = new AgentEtcd(etcdUrl);
        Store = _etcd.Store;
        Health = new HealthAggregator(TimeProvider.System);
        Registry = Prometheus.Metrics.NewCustomRegistry();
        _syncer = new EtcdSyncer(wrap is null ? Store : wrap(Store), new SyncState(Host, new ModelOptions("cali")), _updates.Writer,
            Health.Register("datastore", reportsReadiness: true),
            new DatastoreMetrics(Prometheus.Metrics.WithCustomRegistry(Registry)),
            Log, TimeProvider.System);
        _reader = Task.Run(async () =>
        {
            await foreach (var update in _updates.Reader.ReadAllAsync())
            {
                _received.Enqueue(update);
            }
        });
    }

    public GrpcEtcdStore Store { get; }

    /// <summary>What the syncer logged; put it in assertion messages.</summary>
    public RecordingLogger<EtcdSyncer> Log { get; } = new();

    public HealthAggregator Health { get; }

    public Prometheus.CollectorRegistry Registry { get; }

    public IReadOnlyList<DatastoreUpdate> Received => [.. _received];

    public Task StartAsync() => _syncer.StartAsync(CancellationToken.None);

    public Task PutAsync(string key, string value) => RetryAsync(() => Store.PutAsync(key, value, 0, CancellationToken.None));

    public Task DeleteAsync(string key) => RetryAsync(() => Store.DeleteAsync(key, CancellationToken.None));

    /// <summary>
    /// Runs a test's own write, retrying (every 200 ms, at most 20 s) while etcd is unreachable:
    /// right after a restart the channel may still be backing off from the outage.
    /// </summary>
    public static async Task RetryAsync(Func<Task> write)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                await write();
                return;
            }
            catch (DatastoreUnavailableException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200));
            }
        }
    }

    /// <summary>Waits (bounded, polling every 50 ms) until <paramref name="condition"/> holds.</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
        return true;
    }

    /// <summary>The updates received after the first <paramref name="skip"/>, as short strings.</summary>
    public IReadOnlyList<string> Describe(int skip = 0) => [.. Received.Skip(skip).Select(Short)];

    public static string Short(DatastoreUpdate update) => update switch
    {
        WorkloadEndpointChanged u => $"set endpoint {u.Key.EndpointId}",
        WorkloadEndpointRemoved u => $"remove endpoint {u.Key.EndpointId}",
        ProfileRulesChanged u => $"set rules {u.Key.ProfileId}",
        ProfileRulesRemoved u => $"remove rules {u.Key.ProfileId}",
        ProfileTagsChanged u => $"set tags {u.Key.ProfileId}",
        ProfileTagsRemoved u => $"remove tags {u.Key.ProfileId}",
        IpPoolChanged u => $"set pool {u.Key.Cidr}",
        IpPoolRemoved u => $"remove pool {u.Key.Cidr}",
        HostIpChanged u => $"set host ip {u.Key.Hostname}",
        HostIpRemoved u => $"remove host ip {u.Key.Hostname}",
        ConfigChanged u => $"set config {u.Key.Path}",
        ConfigRemoved u => $"remove config {u.Key.Path}",
        DatastoreInSync => "in sync",
        _ => update.GetType().Name,
    };

    public static string EndpointKey(string endpoint, string host = Host) =>
        $"/calico/v1/host/{host}/workload/docker/{endpoint}-workload/endpoint/{endpoint}";

    public static string Endpoint(string iface, string ip, string profile = "db") =>
        $$"""{"state":"active","name":"{{iface}}","mac":"96:c4:86:4d:d7:2c","profile_ids":["{{profile}}"],"ipv4_nets":["{{ip}}/32"],"ipv6_nets":[]}""";

    public async ValueTask DisposeAsync()
    {
        await _syncer.StopAsync(CancellationToken.None);
        _syncer.Dispose();
        _updates.Writer.TryComplete();
        await _reader;
        _etcd.Dispose();
    }
}

/// <summary>Holds the next watch back until released, so a test can change and compact etcd first.</summary>
internal sealed class GatedWatchStore : IEtcdStore
{
    private readonly IEtcdStore _inner;
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _watches;

    public GatedWatchStore(IEtcdStore inner)
    {
        _inner = inner;
    }

    /// <summary>Completes when the syncer has asked for its first watch (its snapshot is done).</summary>
    public TaskCompletionSource WatchRequested { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _release.TrySetResult();

    public async IAsyncEnumerable<WatchBatch> WatchAsync(string prefix, long startRevision,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _watches) == 1)
        {
            WatchRequested.TrySetResult();
            await _release.Task.WaitAsync(cancellationToken);
        }
        await foreach (var batch in _inner.WatchAsync(prefix, startRevision, cancellationToken))
        {
            yield return batch;
        }
    }

    public Task<RangePage> RangeAsync(string fromKey, string rangeEnd, long revision, int limit, CancellationToken cancellationToken) =>
        _inner.RangeAsync(fromKey, rangeEnd, revision, limit, cancellationToken);

    public Task PutAsync(string key, string value, long leaseId, CancellationToken cancellationToken) =>
        _inner.PutAsync(key, value, leaseId, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken) => _inner.DeleteAsync(key, cancellationToken);

    public Task<long> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken) => _inner.GrantLeaseAsync(ttl, cancellationToken);

    public Task<bool> KeepLeaseAliveAsync(long leaseId, CancellationToken cancellationToken) =>
        _inner.KeepLeaseAliveAsync(leaseId, cancellationToken);
}
