using System.Text;
using System.Threading.Channels;
using Felix.Agent.Datastore;
using Felix.Agent.Datastore.Etcd;
using Felix.Agent.Hosting.Health;
using Felix.Agent.Model;
using Microsoft.Extensions.Logging.Abstractions;

namespace Felix.Agent.Tests.Datastore;

/// <summary>
/// The snapshot read in pages (each parsed while the next is read): every key reaches the
/// consumer once, in key order, with in-sync last; a read that fails part-way is started again
/// and the consumer ends with exactly what etcd holds.
/// </summary>
public class EtcdSyncerPagingTests
{
    private sealed class PagedStore(SortedDictionary<string, string> keys, long revision) : IEtcdStore
    {
        public List<(string From, long Revision)> Calls { get; } = [];

        /// <summary>Calls (0-based) that fail, and with what the keys are replaced after the failure.</summary>
        public Dictionary<int, SortedDictionary<string, string>> FailAt { get; } = [];

        public Task<RangePage> RangeAsync(string fromKey, string rangeEnd, long revision1, int limit, CancellationToken cancellationToken)
        {
            lock (Calls)
            {
                Calls.Add((fromKey, revision1));
                if (FailAt.Remove(Calls.Count - 1, out var after))
                {
                    keys = after;
                    revision++;
                    return Task.FromException<RangePage>(new DatastoreUnavailableException("etcd went away"));
                }
                var items = keys.Where(k => string.CompareOrdinal(k.Key, fromKey) >= 0 && string.CompareOrdinal(k.Key, rangeEnd) < 0).ToList();
                var page = items.Take(limit).Select(k => new KeyValue(k.Key, Encoding.UTF8.GetBytes(k.Value), 1)).ToList();
                return Task.FromResult(new RangePage(page, revision, items.Count > limit));
            }
        }

        public async IAsyncEnumerable<WatchBatch> WatchAsync(string prefix, long startRevision,
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            yield break;
        }

        public Task PutAsync(string key, string value, long leaseId, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task DeleteAsync(string key, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<long> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken) => Task.FromResult(1L);

        public Task<bool> KeepLeaseAliveAsync(long leaseId, CancellationToken cancellationToken) => Task.FromResult(true);
    }

    private static SortedDictionary<string, string> Cluster(int endpoints, int skip = -1, int version = 0)
    {
        var keys = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["/calico/v1/Ready"] = "true" };
        foreach (var e in Enumerable.Range(0, endpoints).Where(e => e != skip))
        {
            keys[$"/calico/v1/host/host1/workload/k8s/w{e:D6}/endpoint/eth0"] =
                $$"""{"state":"active","name":"cali{{e}}","profile_ids":["p"],"ipv4_nets":["10.1.{{e / 200}}.{{(e % 200) + 1 + version}}/32"]}""";
        }
        return keys;
    }

    private static async Task<List<DatastoreUpdate>> SyncAsync(PagedStore store)
    {
        var updates = Channel.CreateUnbounded<DatastoreUpdate>();
        using var syncer = new EtcdSyncer(store, new SyncState("host1", new ModelOptions("cali")), updates.Writer,
            new HealthAggregator(TimeProvider.System).Register("datastore", reportsReadiness: true),
            new DatastoreMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())),
            NullLogger<EtcdSyncer>.Instance, TimeProvider.System);
        await syncer.StartAsync(CancellationToken.None);
        var received = new List<DatastoreUpdate>();
        while (received.LastOrDefault() is not DatastoreInSync)
        {
            received.Add(await updates.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60)));
        }
        await syncer.StopAsync(CancellationToken.None);
        return received;
    }

    [Fact]
    public async Task A_snapshot_of_several_pages_reaches_the_consumer_whole_in_key_order_in_sync_last()
    {
        var keys = Cluster(45_000);
        var store = new PagedStore(keys, 7);

        var received = await SyncAsync(store);

        var paths = received.OfType<WorkloadEndpointChanged>().Select(u => u.Key.Path).ToList();
        Assert.Equal(keys.Keys.Skip(1), paths);
        Assert.Single(received.OfType<DatastoreInSync>());
        Assert.Equal(3, store.Calls.Count);
        Assert.Equal([0L, 7L, 7L], store.Calls.Select(c => c.Revision));
    }

    [Fact]
    public async Task A_read_that_fails_part_way_starts_again_and_the_consumer_ends_with_what_etcd_holds()
    {
        var store = new PagedStore(Cluster(45_000), 7);
        var later = Cluster(45_000, skip: 3, version: 1);
        store.FailAt[2] = later;

        var received = await SyncAsync(store);

        var held = new SortedDictionary<string, WorkloadEndpoint>(StringComparer.Ordinal);
        foreach (var update in received)
        {
            switch (update)
            {
                case WorkloadEndpointChanged u:
                    held[u.Key.Path] = u.Endpoint;
                    break;
                case WorkloadEndpointRemoved u:
                    Assert.True(held.Remove(u.Key.Path));
                    break;
            }
        }
        Assert.Equal(later.Keys.Skip(1), held.Keys);
        Assert.Equal("10.1.0.2/32", held[later.Keys.ElementAt(1)].Ipv4Nets[0].ToString());
        Assert.Single(received.OfType<DatastoreInSync>());
    }
}
