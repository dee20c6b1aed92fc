using System.Text;
using System.Text.Json;
using Felix.Agent.Datastore.Etcd;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Felix.Agent.Datastore;

/// <summary>
/// Tells the cluster this agent is alive: <c>/calico/felix/v1/host/&lt;host&gt;/status</c> under a
/// lease of ReportingTTLSecs, rewritten every ReportingIntervalSecs, so the key vanishes on its own
/// when the agent dies; and <c>last_reported_status</c> without a lease, so the last word stays.
/// The lease is refreshed with one keep-alive per report rather than a long-lived stream (which
/// does not survive an etcd restart); when etcd no longer knows it, a new one is granted.
/// </summary>
public sealed partial class StatusReporter : BackgroundService
{
    private readonly IEtcdStore _store;
    private readonly string _hostname;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _ttl;
    private readonly TimeProvider _clock;
    private readonly ILogger<StatusReporter> _log;
    private readonly DateTimeOffset _started;
    private long _lease;
    private bool _failing;

    public StatusReporter(IEtcdStore store, string hostname, TimeSpan interval, TimeSpan ttl, TimeProvider clock, ILogger<StatusReporter> log)
    {
        _store = store;
        _hostname = hostname;
        _interval = interval;
        _ttl = ttl;
        _clock = clock;
        _log = log;
        _started = clock.GetUtcNow();
    }

    public string StatusKey => $"/calico/felix/v1/host/{_hostname}/status";

    public string LastReportedKey => $"/calico/felix/v1/host/{_hostname}/last_reported_status";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_interval <= TimeSpan.Zero)
        {
            return;
        }
        var first = true;
        using var timer = new PeriodicTimer(_interval, _clock);
        try
        {
            do
            {
                try
                {
                    await ReportAsync(first, stoppingToken);
                    first = false;
                    if (_failing)
                    {
                        _failing = false;
                        LogRecovered(_log);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // Unreachable etcd or anything else: the report is retried at the next tick.
                    if (!_failing)
                    {
                        _failing = true;
                        LogFailed(_log, e.Message);
                    }
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the status key lapses with its lease.
        }
    }

    internal async Task ReportAsync(bool firstUpdate, CancellationToken cancel)
    {
        if (_ttl > TimeSpan.Zero && (_lease == 0 || !await _store.KeepLeaseAliveAsync(_lease, cancel)))
        {
            _lease = await _store.GrantLeaseAsync(_ttl, cancel);
        }
        var now = _clock.GetUtcNow();
        var status = Render(now, now - _started, firstUpdate);
        await _store.PutAsync(StatusKey, status, _ttl > TimeSpan.Zero ? _lease : 0, cancel);
        await _store.PutAsync(LastReportedKey, status, 0, cancel);
    }

    internal static string Render(DateTimeOffset time, TimeSpan uptime, bool firstUpdate)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("time", time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteNumber("uptime", Math.Round(uptime.TotalSeconds, 3));
            json.WriteBoolean("first_update", firstUpdate);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot write the agent's status to etcd, will keep trying: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Writing the agent's status to etcd again")]
    private static partial void LogRecovered(ILogger logger);
}
