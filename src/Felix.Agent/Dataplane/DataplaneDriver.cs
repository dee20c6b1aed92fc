using System.Threading.Channels;
using Felix.Agent.Calculation;
using Felix.Agent.Datastore;
using Felix.Agent.Hosting.Health;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace Felix.Agent.Dataplane;

/// <summary>
/// Design: the one loop that owns the dataplane. It reads the calculation's batches and link events
/// from one channel and only records them in the managers; nothing is applied before the first
/// <see cref="InSync"/> (an apply would delete every felix object nothing has asked for yet). Then
/// it applies whenever something was recorded or a kernel object has due work (a read-back, a
/// retry), at most once per <see cref="DriverOptions.MinApplyInterval"/>, so a burst of changes
/// coalesces into one apply. An apply runs the managers' deferred work, then the
/// <see cref="DataplaneApplier"/>'s ordered I/O. Ready — health and systemd's <c>READY=1</c> —
/// means in sync and one apply fully succeeded. A part failing for
/// <see cref="DriverOptions.FailureTimeout"/> ends the process (crash-only: etcd and the kernel
/// hold everything needed to start again). SIGTERM stops the loop between applies; one in flight
/// finishes, and the kernel state is left as it is.
/// </summary>
internal sealed partial class DataplaneDriver : BackgroundService
{
    private readonly Func<CancellationToken, Task<DataplaneSetup>> _setup;
    private readonly ChannelReader<DriverInput> _inputs;
    private readonly ChannelWriter<DriverInput> _linkEvents;
    private readonly DriverOptions _options;
    private readonly HealthReporter _health;
    private readonly ISystemdNotifier _systemd;
    private readonly DataplaneMetrics _metrics;
    private readonly IEndpointStatusReporter? _statusReporter;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _log;
    private readonly TimeProvider _clock;
    private readonly HashSet<string> _profiles = new(StringComparer.Ordinal);
    private DataplaneSetup? _dataplane;
    private bool _inSync;
    private bool _recorded;
    private bool _ready;
    private long _lastApply = long.MinValue;
    private long _retryAt;
    private TimeSpan _retryDelay;
    private long _nextWatchdog;
    private string? _status;

    public DataplaneDriver(Func<CancellationToken, Task<DataplaneSetup>> setup, Channel<DriverInput> inputs, DriverOptions options,
        HealthReporter health, ISystemdNotifier systemd, DataplaneMetrics metrics, IEndpointStatusReporter? statusReporter,
        IHostApplicationLifetime lifetime, ILogger logger, TimeProvider clock)
    {
        _setup = setup;
        _inputs = inputs.Reader;
        _linkEvents = inputs.Writer;
        _options = options;
        _health = health;
        _systemd = systemd;
        _metrics = metrics;
        _statusReporter = statusReporter;
        _lifetime = lifetime;
        _log = logger;
        _clock = clock;
        _retryDelay = options.InitialRetryDelay;
    }

    /// <summary>Applies done since start, successful or not.</summary>
    public int Applies { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _health.Report(live: true, ready: false, "starting the dataplane");
        using var dataplane = await _setup(stoppingToken);
        _dataplane = dataplane;
        using var pumpStop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var pump = PumpLinkEventsAsync(dataplane, pumpStop.Token);
        SetStatus("waiting for the datastore to be in sync");
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                Drain(dataplane);
                PingWatchdog();
                if (ApplyDue(dataplane))
                {
                    await ApplyAsync(dataplane);
                    if (FailedTooLong(dataplane))
                    {
                        return;
                    }
                    continue;
                }
                ReportHealth();
                await WaitForInputAsync(stoppingToken);
            }
        }
        finally
        {
            await pumpStop.CancelAsync();
            await pump;
            _systemd.Notify(ServiceState.Stopping);
        }
    }

    private void Drain(DataplaneSetup dataplane)
    {
        while (_inputs.TryRead(out var input))
        {
            switch (input)
            {
                case CalculatedBatch batch:
                    foreach (var update in batch.Updates)
                    {
                        Record(dataplane, update);
                    }
                    CountMessages(batch.Updates);
                    break;
                case LinkChanged link:
                    _metrics.Messages.WithLabels("LinkEvent").Inc();
                    dataplane.Applier.OnLinkEvent(link.Event);
                    // Recorded like an update: a new interface's route is due within the throttle,
                    // not the next idle poll, and an interface that vanished (no kernel work: its
                    // routes went with it) still gets an apply that reports its endpoint down.
                    _recorded = true;
                    break;
                default:
                    throw new InvalidOperationException($"unknown driver input {input}");
            }
        }
    }

    /// <summary>
    /// Counts a batch's updates by kind, one counter step per kind rather than a labelled
    /// counter's lookup per update: the snapshot's batch holds 100k+ updates.
    /// </summary>
    private void CountMessages(IReadOnlyList<DataplaneUpdate> updates)
    {
        var counts = new Dictionary<Type, int>();
        foreach (var update in updates)
        {
            counts[update.GetType()] = counts.GetValueOrDefault(update.GetType()) + 1;
        }
        foreach (var (type, count) in counts)
        {
            _metrics.Messages.WithLabels(type.Name).Inc(count);
        }
    }

    private void Record(DataplaneSetup dataplane, DataplaneUpdate update)
    {
        foreach (var manager in dataplane.Managers)
        {
            manager.OnUpdate(update);
        }
        switch (update)
        {
            case ProfileUpdate profile:
                _profiles.Add(profile.ProfileId);
                break;
            case ProfileRemove profile:
                _profiles.Remove(profile.ProfileId);
                break;
            case InSync when !_inSync:
                _inSync = true;
                LogInSync(_log);
                break;
        }
        _recorded = true;
    }

    private bool ApplyDue(DataplaneSetup dataplane)
    {
        if (!_inSync)
        {
            return false;
        }
        var now = _clock.GetTimestamp();
        if (_lastApply != long.MinValue && _clock.GetElapsedTime(_lastApply, now) < _options.MinApplyInterval)
        {
            return false;
        }
        return _recorded || (now >= _retryAt && dataplane.Applier.HasPendingWork);
    }

    private async Task ApplyAsync(DataplaneSetup dataplane)
    {
        _lastApply = _clock.GetTimestamp();
        _recorded = false;
        foreach (var manager in dataplane.Managers)
        {
            manager.CompleteDeferredWork();
        }
        // Not cancellable: SIGTERM lets an apply in flight finish rather than leave a half-written batch.
        // Only an idle table's periodic read-back gives way, to input that arrives meanwhile.
        ApplyResult result;
        using (var newInput = new CancellationTokenSource())
        using (var applied = new CancellationTokenSource())
        {
            var watch = SignalNewInputAsync(newInput, applied.Token);
            result = await dataplane.Applier.ApplyAsync(newInput.Token, CancellationToken.None);
            await applied.CancelAsync();
            await watch;
        }
        var elapsed = _clock.GetElapsedTime(_lastApply);
        Applies++;
        _metrics.ApplyTime.Observe(elapsed.TotalSeconds);
        if (result.Succeeded)
        {
            _retryDelay = _options.InitialRetryDelay;
            _retryAt = 0;
            LogApplied(_log, elapsed.TotalMilliseconds, result.IptablesDone.TotalMilliseconds, result.IpSetsDone.TotalMilliseconds, result.RoutesDone.TotalMilliseconds);
            if (!_ready)
            {
                _ready = true;
                LogReady(_log, dataplane.Endpoints.Count, _profiles.Count, dataplane.Sets.Count, elapsed.TotalMilliseconds);
                _systemd.Notify(ServiceState.Ready);
            }
            SetStatus($"in sync: {Counted(dataplane.Endpoints.Count, "local endpoint")}, {Counted(_profiles.Count, "profile")}, {Counted(dataplane.Sets.Count, "set")}");
        }
        else
        {
            _metrics.Failures.Inc();
            _retryAt = _clock.GetTimestamp() + (long)(_retryDelay.TotalSeconds * _clock.TimestampFrequency);
            var failed = result.ToString();
            LogApplyFailed(_log, failed, elapsed.TotalMilliseconds, _retryDelay.TotalSeconds);
            SetStatus($"{(_ready ? "in sync" : "not ready")}: the last apply failed ({failed}); retrying");
            _retryDelay = TimeSpan.FromTicks(Math.Min(_retryDelay.Ticks * 2, _options.MaxRetryDelay.Ticks));
        }
        if (_statusReporter is not null)
        {
            dataplane.Endpoints.ReportStatus(_statusReporter);
        }
        ReportHealth();
    }

    /// <summary>Signals <paramref name="newInput"/> once input is waiting to be read, until <paramref name="stop"/>.</summary>
    private async Task SignalNewInputAsync(CancellationTokenSource newInput, CancellationToken stop)
    {
        try
        {
            if (await _inputs.WaitToReadAsync(stop))
            {
                await newInput.CancelAsync();
            }
        }
        catch (OperationCanceledException)
        {
            // The apply ended first.
        }
    }

    private bool FailedTooLong(DataplaneSetup dataplane)
    {
        var failingFor = dataplane.Applier.Failing is { } failing ? _clock.GetUtcNow() - failing.Since : TimeSpan.Zero;
        if (failingFor < _options.FailureTimeout)
        {
            return false;
        }
        LogGivingUp(_log, dataplane.Applier.Failing!.Value.Part, failingFor.TotalSeconds);
        Environment.ExitCode = 1;
        _lifetime.StopApplication();
        return true;
    }

    private async Task WaitForInputAsync(CancellationToken stoppingToken)
    {
        // On the injected clock, so a test's fake time wakes the loop as real time would.
        using var timeout = new CancellationTokenSource(NextWake(), _clock);
        using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
        try
        {
            await _inputs.WaitToReadAsync(wake.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // Woken by the timeout: look again at due work and the watchdog.
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>How long the loop may sleep: until the throttle opens, the retry is due, the next idle poll or the next watchdog ping.</summary>
    private TimeSpan NextWake()
    {
        var wait = _options.IdlePoll;
        var now = _clock.GetTimestamp();
        if (_inSync && _recorded && _lastApply != long.MinValue)
        {
            wait = Min(wait, _options.MinApplyInterval - _clock.GetElapsedTime(_lastApply, now));
        }
        if (_retryAt > now)
        {
            wait = Min(wait, _clock.GetElapsedTime(now, _retryAt));
        }
        if (_options.Watchdog is not null)
        {
            wait = Min(wait, _clock.GetElapsedTime(now, _nextWatchdog));
        }
        return wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait;
    }

    private void PingWatchdog()
    {
        if (_options.Watchdog is not { } interval)
        {
            return;
        }
        var now = _clock.GetTimestamp();
        if (now >= _nextWatchdog)
        {
            _systemd.Notify(new ServiceState("WATCHDOG=1"));
            _nextWatchdog = now + (long)(interval.TotalSeconds / 2 * _clock.TimestampFrequency);
        }
    }

    private void ReportHealth() =>
        _health.Report(live: true, ready: _ready, _ready ? _status ?? "ready" : _inSync ? "in sync; the first apply has not succeeded yet" : "waiting for the datastore");

    // `systemctl status` shows the line to operators: "1 local endpoint", not "1 local endpoints".
    private static string Counted(int count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";

    private void SetStatus(string status)
    {
        if (status == _status)
        {
            return;
        }
        _status = status;
        _systemd.Notify(new ServiceState("STATUS=" + status));
    }

    /// <summary>
    /// Passes link events into the loop's channel, so they are handled in order with the updates.
    /// A watch that breaks is fatal: without events a late interface would wait for the next
    /// refresh for its route, so the agent restarts rather than run half-blind.
    /// </summary>
    private async Task PumpLinkEventsAsync(DataplaneSetup dataplane, CancellationToken cancellationToken)
    {
        // Yield first: the caller's loop starts without waiting for the first event.
        await Task.Yield();
        try
        {
            await foreach (var linkEvent in dataplane.Netlink.WatchLinksAsync(cancellationToken))
            {
                _linkEvents.TryWrite(new LinkChanged(linkEvent));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e) when (e is Felix.Dataplane.Netlink.NetlinkException or InvalidOperationException)
        {
            LogLinkWatchFailed(_log, e.Message);
            Environment.ExitCode = 1;
            _lifetime.StopApplication();
            return;
        }
        if (!cancellationToken.IsCancellationRequested)
        {
            LogLinkWatchFailed(_log, "the event socket closed");
            Environment.ExitCode = 1;
            _lifetime.StopApplication();
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
