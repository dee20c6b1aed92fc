using System.Text;
using System.Threading.Channels;
using Felix.Agent.Datastore;
using Felix.Agent.Datastore.Etcd;
using Felix.Agent.Hosting.Health;
using Felix.Agent.Model;
using Microsoft.Extensions.Logging.Abstractions;
using NSubstitute;

namespace Felix.Agent.Tests.Datastore;

public class EtcdSyncerTests
{
    [Fact]
    public void Backoff_grows_exponentially_with_jitter_and_is_capped()
    {
        for (var failures = 1; failures <= 30; failures++)
        {
            var step = Math.Min(10_000, 500 * Math.Pow(2, Math.Min(failures - 1, 16)));
            var delay = EtcdSyncer.Backoff(failures).TotalMilliseconds;
            Assert.InRange(delay, step / 2, step);
        }
    }

    [Fact]
    public async Task An_unexpected_exception_is_a_failed_round_not_the_end_of_the_sync()
    {
        var store = Substitute.For<IEtcdStore>();
        var ready = new KeyValue("/calico/v1/Ready", Encoding.UTF8.GetBytes("true"), 2);
        store.RangeAsync(Arg.Any<string>(), Arg.Any<string>(), Arg.Any<long>(), Arg.Any<int>(), Arg.Any<CancellationToken>())
            .Returns(
                _ => Task.FromException<RangePage>(new InvalidOperationException("surprise from the transport")),
                _ => Task.FromResult(new RangePage([ready], 2, More: false)));
        store.WatchAsync(Arg.Any<string>(), Arg.Any<long>(), Arg.Any<CancellationToken>())
            .Returns(call => Forever(call.Arg<CancellationToken>()));
        var health = new HealthAggregator(TimeProvider.System);
        var updates = Channel.CreateUnbounded<DatastoreUpdate>();
        using var syncer = new EtcdSyncer(store, new SyncState("host1", new ModelOptions("cali")), updates.Writer,
            health.Register("datastore", reportsReadiness: true),
            new DatastoreMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())),
            NullLogger<EtcdSyncer>.Instance, TimeProvider.System);

        await syncer.StartAsync(CancellationToken.None);
        var first = await updates.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.IsType<DatastoreInSync>(first);
        // Readiness is reported next to the delivery, not before it: wait for it, bounded.
        for (var i = 0; i < 300 && !health.Snapshot().Ready; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
        Assert.True(health.Snapshot().Ready);
        await syncer.StopAsync(CancellationToken.None);
    }

    private static async IAsyncEnumerable<WatchBatch> Forever([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel)
    {
        await Task.Delay(Timeout.Infinite, cancel);
        yield break;
    }
}
