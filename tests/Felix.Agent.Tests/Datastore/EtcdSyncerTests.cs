using System.Text;
using System.Threading.Channels;
using Felix.Agent.Datastore;
using Felix.Agent.Datastore.Etcd;
using Felix.Agent.Hosting.Health;
using Felix.Agent.Model;
using Felix.Agent.Tests.Dataplane;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
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

    [Fact]
    public async Task An_outage_is_one_warning_and_every_failed_attempt_a_debug_line_with_its_delay_and_reason()
    {
        const string reason = "etcd 127.0.0.1:2379: TLS: etcd's certificate is not signed by the CA in EtcdCaFile /ca.pem";
        var store = Substitute.For<IEtcdStore>();
        var ready = new KeyValue("/calico/v1/Ready", Encoding.UTF8.GetBytes("true"), 2);
        store.RangeAsync(Arg.Any<string>(), Arg.Any<string>(), Arg.Any<long>(), Arg.Any<int>(), Arg.Any<CancellationToken>())
            .Returns(
                _ => Task.FromException<RangePage>(new DatastoreUnavailableException(reason, new IOException("handshake"))),
                _ => Task.FromException<RangePage>(new DatastoreUnavailableException(reason, new IOException("handshake"))),
                _ => Task.FromResult(new RangePage([ready], 2, More: false)));
        store.WatchAsync(Arg.Any<string>(), Arg.Any<long>(), Arg.Any<CancellationToken>())
            .Returns(call => Forever(call.Arg<CancellationToken>()));
        var clock = new FakeTimeProvider();
        var log = new TestLog();
        var updates = Channel.CreateUnbounded<DatastoreUpdate>();
        using var syncer = new EtcdSyncer(store, new SyncState("host1", new ModelOptions("cali")), updates.Writer,
            new HealthAggregator(clock).Register("datastore", reportsReadiness: true),
            new DatastoreMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())),
            new SyncerLog(log), clock);

        await syncer.StartAsync(CancellationToken.None);
        // The syncer sleeps on the fake clock after each failure; time moves on until it is through.
        DatastoreUpdate? first = null;
        for (var i = 0; i < 1000 && first is null; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(TimeSpan.FromMilliseconds(10));
            first = updates.Reader.TryRead(out var update) ? update : null;
        }
        Assert.IsType<DatastoreInSync>(first);
        await syncer.StopAsync(CancellationToken.None);

        Assert.Equal($"Cannot reach etcd, retrying with backoff; the dataplane is left as it is: {reason}", Assert.Single(log.Warnings));
        var retries = log.Entries.Where(e => e.Message.StartsWith("etcd attempt", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, retries.Count);
        Assert.All(retries, e => Assert.Equal(LogLevel.Debug, e.Level));
        Assert.Matches($"^etcd attempt 1 failed; next attempt in [0-9]+ ms: {System.Text.RegularExpressions.Regex.Escape(reason)}$", retries[0].Message);
        Assert.StartsWith("etcd attempt 2 failed; next attempt in ", retries[1].Message, StringComparison.Ordinal);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Information && e.Message.StartsWith("Reached etcd again", StringComparison.Ordinal));
    }

    private sealed class SyncerLog(TestLog log) : ILogger<EtcdSyncer>
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => log.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => log.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            log.Log(logLevel, eventId, state, exception, formatter);
    }

    private static async IAsyncEnumerable<WatchBatch> Forever([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel)
    {
        await Task.Delay(Timeout.Infinite, cancel);
        yield break;
    }
}
