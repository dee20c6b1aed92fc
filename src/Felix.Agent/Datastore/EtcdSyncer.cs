using System.Threading.Channels;
using Felix.Agent.Datastore.Etcd;
using Felix.Agent.Hosting.Health;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Felix.Agent.Datastore;

/// <summary>
/// Keeps <see cref="SyncState"/> in step with etcd and hands its updates to the agent.
/// Design: read <c>/calico/v1/</c> in pages at one revision R, then watch from R+1. A compaction
/// or any failure ends the watch; the next round reads a fresh snapshot, and the state turns it
/// into the exact difference, so nothing is lost or delivered twice. While etcd is unreachable the
/// agent stays live but not ready, retries with capped, jittered exponential backoff, logs each
/// change of state once, and delivers nothing — the dataplane is left as it is.
/// </summary>
public sealed partial class EtcdSyncer : BackgroundService
{
    public const string Prefix = "/calico/v1/";
    // etcd (3.4/3.5) counts the whole remaining range on every limited range request, so small pages
    // cost O(n²): measured at 100k keys, pages of 1,000 read in 3.1 s, 20,000 in 0.55 s, one
    // unlimited read in 0.47 s. 20,000 keeps a page to a few MB.
    private const int PageSize = 20_000;
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(10);

    private readonly IEtcdStore _store;
    private readonly SyncState _state;
    private readonly ChannelWriter<DatastoreUpdate> _output;
    private readonly HealthReporter _health;
    private readonly DatastoreMetrics _metrics;
    private readonly ILogger<EtcdSyncer> _log;
    private readonly TimeProvider _clock;
    private string? _unavailableSince;
    private bool? _loggedInSync;

    public EtcdSyncer(IEtcdStore store, SyncState state, ChannelWriter<DatastoreUpdate> output, HealthReporter health,
        DatastoreMetrics metrics, ILogger<EtcdSyncer> log, TimeProvider clock)
    {
        _store = store;
        _state = state;
        _output = output;
        _health = health;
        _metrics = metrics;
        _log = log;
        _clock = clock;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan? retryAfter = null;
            try
            {
                var revision = await ReadSnapshotAsync(stoppingToken);
                failures = 0;
                await WatchAsync(revision, stoppingToken);
            }
            catch (WatchCompactedException e)
            {
                LogCompacted(_log, e.CompactRevision);
            }
            catch (DatastoreUnavailableException e)
            {
                ReportUnavailable(e.Message);
                retryAfter = Backoff(++failures);
                LogRetrying(_log, failures, (long)retryAfter.Value.TotalMilliseconds, e.Message);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // Anything else is a bug or a transport surprise: never let it end the sync (the
                // agent would stay "ready" on stale data). Report it loudly and start over.
                LogUnexpected(_log, e.GetType().Name, e);
                var reason = $"{e.GetType().Name}: {e.Message}";
                ReportUnavailable(reason);
                retryAfter = Backoff(++failures);
                LogRetrying(_log, failures, (long)retryAfter.Value.TotalMilliseconds, reason);
            }
            if (retryAfter is { } delay)
            {
                await SleepAsync(delay, _clock, stoppingToken);
            }
        }
        _output.TryComplete();
    }

    /// <summary>Waits, or returns early without throwing when the agent stops.</summary>
    internal static async Task SleepAsync(TimeSpan delay, TimeProvider clock, CancellationToken stopping)
    {
        try
        {
            await Task.Delay(delay, clock, stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping: the caller's loop ends.
        }
    }

    /// <summary>Capped exponential backoff with jitter (50–100 % of the step), so hosts spread out.</summary>
    internal static TimeSpan Backoff(int failures)
    {
        var step = Math.Min(MaxRetry.TotalMilliseconds, FirstRetry.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 16)));
        return TimeSpan.FromMilliseconds(step * (0.5 + (Random.Shared.NextDouble() / 2)));
    }

    private async Task<long> ReadSnapshotAsync(CancellationToken cancel)
    {
        _metrics.ResyncStarted();
        _metrics.State(ResyncState.Resyncing);
        var end = EtcdKeys.PrefixEnd(Prefix);
        var page = await _store.RangeAsync(Prefix, end, 0, PageSize, cancel);
        var revision = page.Revision;
        var parsing = new List<Task<ParsedEntry[]>>();
        while (true)
        {
            parsing.Add(ParseAsync(page.Items));
            if (!page.More || page.Items.Count == 0)
            {
                break;
            }
            page = await _store.RangeAsync(page.Items[^1].Key + "\0", end, revision, PageSize, cancel);
        }
        var items = (await Task.WhenAll(parsing)).SelectMany(entries => entries).ToList();
        _state.LoadSnapshot(items);
        if (_unavailableSince is not null)
        {
            LogReconnected(_log, _unavailableSince);
            _unavailableSince = null;
        }
        LogSnapshot(_log, items.Count, revision);
        await DeliverAsync(cancel);
        return revision;
    }

    // Pages are parsed on the thread pool, across cores, while the next page is read.
    private Task<ParsedEntry[]> ParseAsync(IReadOnlyList<KeyValue> page) => Task.Run(() =>
    {
        var entries = new ParsedEntry[page.Count];
        Parallel.For(0, page.Count, i => entries[i] = _state.Parse(page[i].Key, page[i].Value, page[i].ModRevision));
        return entries;
    });

    private async Task WatchAsync(long revision, CancellationToken cancel)
    {
        await foreach (var batch in _store.WatchAsync(Prefix, revision + 1, cancel))
        {
            foreach (var change in batch.Events)
            {
                _state.Apply(change.Key, change.Value, change.ModRevision);
            }
            await DeliverAsync(cancel);
        }
    }

    private async Task DeliverAsync(CancellationToken cancel)
    {
        foreach (var ignored in _state.TakeIgnored())
        {
            LogIgnored(_log, ignored);
        }
        foreach (var rejected in _state.TakeRejected())
        {
            _metrics.Rejected(rejected.Kind);
            LogRejected(_log, rejected.Key, rejected.Reason);
        }
        foreach (var update in _state.TakeUpdates())
        {
            await _output.WriteAsync(update, cancel);
        }
        _metrics.Cluster(_state.Counts);
        var ready = _state.InSync;
        _metrics.State(ready ? ResyncState.InSync : ResyncState.WaitingForReady);
        if (ready != _loggedInSync)
        {
            _loggedInSync = ready;
            if (ready)
            {
                LogInSync(_log, _state.DeliveredCount);
            }
            else
            {
                LogWaitingForReady(_log);
            }
        }
        _health.Report(live: true, ready, ready
            ? $"in sync with etcd: {_state.DeliveredCount} keys"
            : "waiting for /calico/v1/Ready to be true");
    }

    private void ReportUnavailable(string reason)
    {
        _metrics.State(ResyncState.Connecting);
        _health.Report(live: true, ready: false, $"etcd unreachable: {reason}");
        if (_unavailableSince is null)
        {
            _unavailableSince = _clock.GetUtcNow().ToString("u", System.Globalization.CultureInfo.InvariantCulture);
            LogUnavailable(_log, reason);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Datastore sync failed unexpectedly ({Type}); resyncing")]
    private static partial void LogUnexpected(ILogger logger, string type, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Datastore value rejected and treated as absent: {Key}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string key, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ignoring a key this agent does not know: {Key}")]
    private static partial void LogIgnored(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "Read {Count} keys under /calico/v1/ at revision {Revision}")]
    private static partial void LogSnapshot(ILogger logger, int count, long revision);

    [LoggerMessage(Level = LogLevel.Information, Message = "In sync with etcd: {Count} keys delivered")]
    private static partial void LogInSync(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "/calico/v1/Ready is not true: holding back datastore updates")]
    private static partial void LogWaitingForReady(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "etcd compacted past the watch (revision {Revision}): resyncing")]
    private static partial void LogCompacted(ILogger logger, long revision);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot reach etcd, retrying with backoff; the dataplane is left as it is: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string reason);

    // The warning above comes once per outage, so an operator is not flooded; at debug level each
    // attempt shows, so one can watch the agent keep trying (and how far apart) while it lasts.
    [LoggerMessage(Level = LogLevel.Debug, Message = "etcd attempt {Attempt} failed; next attempt in {DelayMs} ms: {Reason}")]
    private static partial void LogRetrying(ILogger logger, int attempt, long delayMs, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reached etcd again (unreachable since {Since})")]
    private static partial void LogReconnected(ILogger logger, string since);
}
