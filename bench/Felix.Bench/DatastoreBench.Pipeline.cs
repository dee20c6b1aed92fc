using System.Diagnostics;
using System.Threading.Channels;
using Felix.Agent.Calculation;
using Felix.Agent.Datastore;
using Felix.Agent.Datastore.Etcd;
using Felix.Agent.Hosting.Health;
using Felix.Agent.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Felix.Bench;

/// <summary>
/// The part of the agent's cold start that comes before its first apply, in process: the
/// end-to-end bench's cluster (<see cref="E2eModel"/>) in etcd, and the agent's own syncer,
/// consumer and calculation wired as the host wires them, from syncer start until the first
/// batch the calculation hands to the dataplane. Next to it, the floor of reading the same
/// keys raw in the syncer's pages, and the syncer alone. Each figure is the median of
/// <c>runs</c>, with what the pipeline allocated and what the GC still holds after it.
/// </summary>
internal static partial class DatastoreBench
{
    public static async Task<int> RunPipelineAsync(int local, int cluster, int profiles, int runs)
    {
        await using var etcd = await BenchEtcd.StartAsync();
        using var connection = new EtcdConnection(new EtcdConnectionOptions([new Uri(etcd.ClientUrl)], null, null, null));
        var store = new GrpcEtcdStore(connection);
        await E2eModel.LoadAsync(connection, E2eModel.Cluster()
            .Concat(E2eModel.FillerProfiles(profiles))
            .Concat(E2eModel.Endpoints(0, local, profiles))
            .Concat(E2eModel.RemoteEndpoints(cluster, profiles)));
        Console.WriteLine($"pipeline: {local} local, {cluster} remote endpoints, {profiles} profiles (the e2e cluster), median of {runs}");

        var floor = new List<double>();
        var synced = new List<double>();
        var first = new List<(double Total, double Read, long Allocated, long Retained)>();
        for (var i = 0; i < runs + 1; i++)
        {
            // Run 0 warms the JIT and the connection; it is not counted.
            var raw = await TimeAsync(() => RawReadAsync(store, pageSize: 20_000));
            var (sync, syncer, _, cancel) = await StartSyncerAsync(store);
            await cancel.CancelAsync();
            await syncer.StopAsync(CancellationToken.None);
            var pipeline = await PipelineOnceAsync(store);
            if (i > 0)
            {
                floor.Add(raw.TotalMilliseconds);
                synced.Add(sync.TotalMilliseconds);
                first.Add(pipeline);
            }
        }
        var median = first.OrderBy(f => f.Total).ElementAt(first.Count / 2);
        Console.WriteLine($"  floor: raw read in pages of 20,000               {Median(floor),8:0} ms");
        Console.WriteLine($"  syncer: start → in sync delivered               {Median(synced),8:0} ms");
        Console.WriteLine($"  pipeline: start → first calculated batch        {median.Total,8:0} ms  " +
            $"(snapshot read and parsed at {median.Read:0} ms; {median.Allocated / 1048576.0:0} MB allocated, " +
            $"{median.Retained / 1048576.0:0} MB held after)");
        return 0;
    }

    private static async Task<(double Total, double Read, long Allocated, long Retained)> PipelineOnceAsync(GrpcEtcdStore store)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var updates = Channel.CreateUnbounded<DatastoreUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var published = new TaskCompletionSource<IReadOnlyList<DataplaneUpdate>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var health = new HealthAggregator(TimeProvider.System);
        var metrics = Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry());
        var started = Stopwatch.GetTimestamp();
        var snapshotLog = new SnapshotLogger(started);
        var syncer = new EtcdSyncer(store, new SyncState(E2eModel.Host, new ModelOptions("cali")), updates.Writer,
            health.Register("datastore", reportsReadiness: true), new DatastoreMetrics(metrics), snapshotLog, TimeProvider.System);
        var calculation = new CalculationListener(new CalculationGraph(E2eModel.Host, remoteWorkloadRoutes: true),
            batch => published.TrySetResult(batch), metrics, NullLogger<CalculationListener>.Instance);
        var consumer = new DatastoreConsumer(updates.Reader, [calculation]);
        using var cancel = new CancellationTokenSource();
        await consumer.StartAsync(cancel.Token);
        await syncer.StartAsync(cancel.Token);
        var batch = await published.Task;
        var total = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var retained = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        await cancel.CancelAsync();
        await syncer.StopAsync(CancellationToken.None);
        await consumer.StopAsync(CancellationToken.None);
        GC.KeepAlive(batch);
        GC.KeepAlive(calculation);
        return (total, snapshotLog.ReadMillis, allocated, retained);
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>Notes when the syncer logs that it read the snapshot: the end of the read and parse.</summary>
    private sealed class SnapshotLogger(long started) : ILogger<EtcdSyncer>
    {
        public double ReadMillis { get; private set; }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (formatter(state, exception).StartsWith("Read ", StringComparison.Ordinal))
            {
                ReadMillis = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }
    }
}
