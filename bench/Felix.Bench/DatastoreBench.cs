using System.Diagnostics;
using System.Threading.Channels;
using Etcdserverpb;
using Felix.Agent.Datastore;
using Felix.Agent.Datastore.Etcd;
using Felix.Agent.Hosting.Health;
using Felix.Agent.Model;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;

namespace Felix.Bench;

/// <summary>
/// The datastore's two figures. Snapshot: N endpoints and P profiles in etcd, from syncer start to
/// <see cref="DatastoreInSync"/> delivered, against the floor of reading the same keys raw (one
/// unpaged range, no parsing). Watch: one put to the update delivered, p50/p99 over S changes, against
/// the floor of the same put seen by a raw watch. Then the pipeline before the first apply
/// (DatastoreBench.Pipeline.cs).
/// </summary>
internal static partial class DatastoreBench
{
    public static async Task<int> RunAsync(int endpoints, int profiles, int samples)
    {
        await using var etcd = await BenchEtcd.StartAsync();
        using var connection = new EtcdConnection(new EtcdConnectionOptions([new Uri(etcd.ClientUrl)], null, null, null));
        var store = new GrpcEtcdStore(connection);
        var loading = Stopwatch.StartNew();
        await LoadAsync(connection, endpoints, profiles);
        Console.WriteLine($"datastore: loaded {endpoints} endpoints and {profiles} profiles into etcd in {loading.Elapsed.TotalSeconds:0.0} s");

        var floor = await TimeAsync(() => RawReadAsync(store, pageSize: 0));
        var (snapshot, syncer, updates, cancel) = await StartSyncerAsync(store);
        Console.WriteLine($"  snapshot floor: one raw unpaged read        {floor.TotalMilliseconds,9:0} ms");
        Console.WriteLine($"  snapshot: start → in sync (parse, deliver)  {snapshot.TotalMilliseconds,9:0} ms  ({snapshot / floor:0.0}x floor; target ≤ 2000 ms)");

        var agentLatencies = new List<double>();
        var rawLatencies = new List<double>();
        using var watchCancel = new CancellationTokenSource();
        var rawWatch = store.WatchAsync("/bench-floor/", (await store.RangeAsync("/", "0", 0, 1, CancellationToken.None)).Revision + 1, watchCancel.Token)
            .GetAsyncEnumerator(watchCancel.Token);
        for (var i = 0; i < samples; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await store.PutAsync($"/bench-floor/k{i % 10}", $"{i}", 0, CancellationToken.None);
            await rawWatch.MoveNextAsync();
            rawLatencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);

            started = Stopwatch.GetTimestamp();
            await store.PutAsync(EndpointKey(i % 100), Endpoint(i % 100, 1 + (i % 250)), 0, CancellationToken.None);
            await updates.ReadAsync();
            agentLatencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        await watchCancel.CancelAsync();
        await cancel.CancelAsync();
        await syncer.StopAsync(CancellationToken.None);
        Console.WriteLine($"  watch floor: put → raw watch event          p50 {Percentile(rawLatencies, 50),6:0.00} ms  p99 {Percentile(rawLatencies, 99),6:0.00} ms");
        Console.WriteLine($"  watch: put → update delivered               p50 {Percentile(agentLatencies, 50),6:0.00} ms  p99 {Percentile(agentLatencies, 99),6:0.00} ms  " +
            $"({Percentile(agentLatencies, 50) / Percentile(rawLatencies, 50):0.0}x floor at p50; target p50 ≤ 2 ms)");
        // The cold start's own shape, at the e2e bench's 10k / 100k in a full run.
        return endpoints >= 100_000
            ? await RunPipelineAsync(local: 10_000, cluster: endpoints, profiles: profiles, runs: 3)
            : await RunPipelineAsync(local: endpoints / 10, cluster: endpoints, profiles: profiles, runs: 1);
    }

    private static async Task<(TimeSpan, EtcdSyncer, ChannelReader<DatastoreUpdate>, CancellationTokenSource)> StartSyncerAsync(GrpcEtcdStore store)
    {
        var channel = Channel.CreateUnbounded<DatastoreUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var health = new HealthAggregator(TimeProvider.System);
        var syncer = new EtcdSyncer(store, new SyncState("node0", new ModelOptions("cali")), channel.Writer,
            health.Register("datastore", reportsReadiness: true),
            new DatastoreMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())),
            NullLogger<EtcdSyncer>.Instance, TimeProvider.System);
        var cancel = new CancellationTokenSource();
        var started = Stopwatch.GetTimestamp();
        await syncer.StartAsync(cancel.Token);
        while (await channel.Reader.ReadAsync() is not DatastoreInSync)
        {
        }
        return (Stopwatch.GetElapsedTime(started), syncer, channel.Reader, cancel);
    }

    private static async Task RawReadAsync(GrpcEtcdStore store, int pageSize)
    {
        const string prefix = "/calico/v1/";
        var page = await store.RangeAsync(prefix, EtcdKeys.PrefixEnd(prefix), 0, pageSize, CancellationToken.None);
        while (page.More)
        {
            page = await store.RangeAsync(page.Items[^1].Key + "\0", EtcdKeys.PrefixEnd(prefix), page.Revision, pageSize, CancellationToken.None);
        }
    }

    private static async Task<TimeSpan> TimeAsync(Func<Task> action)
    {
        var started = Stopwatch.GetTimestamp();
        await action();
        return Stopwatch.GetElapsedTime(started);
    }

    // Bulk load through transactions of 128 puts (etcd's default --max-txn-ops).
    private static async Task LoadAsync(EtcdConnection connection, int endpoints, int profiles)
    {
        var kv = new KV.KVClient(connection.Current);
        var puts = new List<(string Key, string Value)> { ("/calico/v1/Ready", "true") };
        for (var p = 0; p < profiles; p++)
        {
            puts.Add(($"/calico/v1/policy/profile/profile-{p}/rules",
                $$"""{"inbound_rules":[{"action":"allow","src_tag":"tag-{{p}}"},{"action":"allow","protocol":"tcp","src_tag":"tag-{{(p + 1) % profiles}}","dst_ports":[80,443,"8000:8100"]}],"outbound_rules":[{"action":"allow"}]}"""));
            puts.Add(($"/calico/v1/policy/profile/profile-{p}/tags", $$"""["tag-{{p}}","all"]"""));
        }
        for (var e = 0; e < endpoints; e++)
        {
            puts.Add((EndpointKey(e), Endpoint(e, e % Math.Max(1, profiles))));
        }
        foreach (var chunk in puts.Chunk(128))
        {
            var txn = new TxnRequest();
            txn.Success.AddRange(chunk.Select(p => new RequestOp
            {
                RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(p.Key), Value = ByteString.CopyFromUtf8(p.Value) },
            }));
            await kv.TxnAsync(txn);
        }
    }

    private static string EndpointKey(int e) => $"/calico/v1/host/node{e % 100}/workload/k8s/pod-{e}/endpoint/eth0";

    private static string Endpoint(int e, int profile) =>
        $$"""{"state":"active","name":"cali{{e:x11}}","mac":"96:c4:86:{{(e >> 16) & 0xff:x2}}:{{(e >> 8) & 0xff:x2}}:{{e & 0xff:x2}}","profile_ids":["profile-{{profile}}"],"ipv4_nets":["10.{{(e >> 16) & 0xff}}.{{(e >> 8) & 0xff}}.{{e & 0xff}}/32"],"ipv6_nets":[]}""";

    private static double Percentile(List<double> values, int percentile)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1)];
    }
}
