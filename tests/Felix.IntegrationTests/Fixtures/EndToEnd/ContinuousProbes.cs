using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Felix.IntegrationTests.Fixtures.EndToEnd;

/// <summary>One path probed throughout a fault: from a workload to a port of another, over one family.</summary>
public sealed record ProbedPath(ClusterWorkload From, ClusterWorkload To, int Port, AddressFamily Family, bool Allowed)
{
    public override string ToString() =>
        $"{(Allowed ? "allowed" : "denied")} {From.Name} -> {To.Name}:{Port} ({(Family == AddressFamily.InterNetworkV6 ? "v6" : "v4")})";
}

/// <summary>One probe of a path: when its SYN left (since the session started) and how it ended.</summary>
public readonly record struct ProbeSample(TimeSpan At, ProbeResult Result);

/// <summary>
/// Probes a set of paths without pause while a test breaks something around the agent, so a fault
/// that opens a denied path or closes an allowed one for even a moment is seen, not only the state
/// before and after. Bounded as the network-safety rules ask: per path at most one connect every
/// <see cref="MinimumInterval"/>, the whole session at most <see cref="MaximumDuration"/> (it stops
/// itself then), and only to workload addresses of a <see cref="Cluster"/>, whose namespaces the
/// test made. An allowed probe waits <see cref="AllowedTimeout"/>, long enough for Linux's SYN
/// retransmit, so one lost SYN is not counted against the agent; a denied probe waits
/// <see cref="DeniedTimeout"/>: a DROP never answers, and an open path answers within a millisecond
/// here, so a short wait probes a denied path four times a second rather than once.
/// </summary>
public sealed class ContinuousProbes : IAsyncDisposable
{
    public static readonly TimeSpan MinimumInterval = TimeSpan.FromMilliseconds(50);
    public static readonly TimeSpan MaximumDuration = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan AllowedTimeout = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan DeniedTimeout = TimeSpan.FromMilliseconds(250);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop;
    private readonly (ProbedPath Path, List<ProbeSample> Samples)[] _paths;
    private readonly Task _running;

    private ContinuousProbes(IReadOnlyList<ProbedPath> paths, TimeSpan duration)
    {
        _stop = new CancellationTokenSource(duration);
        _paths = [.. paths.Select(path => (path, new List<ProbeSample>()))];
        _running = Task.WhenAll(_paths.Select(p => Task.Run(() => ProbeUntilStoppedAsync(p.Path, p.Samples))));
    }

    /// <summary>
    /// Starts probing every path at once, until <see cref="StopAsync"/> or <paramref name="duration"/>
    /// (at most <see cref="MaximumDuration"/>, the default) has passed.
    /// </summary>
    public static ContinuousProbes Start(IReadOnlyList<ProbedPath> paths, TimeSpan? duration = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentOutOfRangeException.ThrowIfZero(paths.Count);
        var bound = duration ?? MaximumDuration;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bound, MaximumDuration);
        return new ContinuousProbes(paths, bound);
    }

    /// <summary>
    /// The article's paths for a fault test: over both families, db1's own port 3306 from app1 on
    /// the other host (allowed: app1 carries <c>db-users</c>) and from web1 on the same host
    /// (denied: web is neither <c>db</c> nor <c>db-users</c>), and web1's port 80 from batch1
    /// (allowed by port) against batch1's own port from web1 (denied: only <c>batch</c> may).
    /// Both directions of the hosts and both agents' chains are on some path.
    /// </summary>
    public static IReadOnlyList<ProbedPath> ArticlePaths(Cluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var (app1, db1, web1, batch1) = (cluster.Workload("app1"), cluster.Workload("db1"), cluster.Workload("web1"), cluster.Workload("batch1"));
        var paths = new List<ProbedPath>();
        foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
        {
            paths.Add(new ProbedPath(app1, db1, 3306, family, Allowed: true));
            paths.Add(new ProbedPath(web1, db1, 3306, family, Allowed: false));
            paths.Add(new ProbedPath(batch1, web1, 80, family, Allowed: true));
            paths.Add(new ProbedPath(web1, batch1, 80, family, Allowed: false));
        }

        return paths.Where(p => p.From.Has(p.Family) && p.To.Has(p.Family)).ToList();
    }

    /// <summary>Stops probing (waits for the probes in flight) and returns what every path saw.</summary>
    public async Task<ProbeReport> StopAsync()
    {
        await _stop.CancelAsync();
        await _running;
        return new ProbeReport(_clock.Elapsed, [.. _paths.Select(p => new PathReport(p.Path, [.. p.Samples]))]);
    }

    /// <summary>Lets the probes run for <paramref name="duration"/> (or until their own bound), then stops them.</summary>
    public async Task<ProbeReport> StopAsyncAfter(TimeSpan duration)
    {
        try
        {
            await Task.Delay(duration, _stop.Token);
        }
        catch (OperationCanceledException)
        {
            // The session's own bound came first.
        }

        return await StopAsync();
    }

    private async Task ProbeUntilStoppedAsync(ProbedPath path, List<ProbeSample> samples)
    {
        var target = path.To.AddressOf(path.Family);
        var timeout = path.Allowed ? AllowedTimeout : DeniedTimeout;
        while (!_stop.IsCancellationRequested)
        {
            var started = _clock.Elapsed;
            // Not cancelled by the stop: a probe in flight runs to its own timeout, so the last sample is a real outcome.
            var result = await Probe.ConnectAsync(path.From.Namespace, target, path.Port, timeout);
            samples.Add(new ProbeSample(started, result));
            var next = started + MinimumInterval - _clock.Elapsed;
            try
            {
                if (next > TimeSpan.Zero)
                {
                    await Task.Delay(next, _stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_running.IsCompleted)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }
}

/// <summary>What one path saw during a probe session.</summary>
public sealed record PathReport(ProbedPath Path, IReadOnlyList<ProbeSample> Samples)
{
    /// <summary>The probes whose outcome was not the path's expected one: a closed allowed path or an open denied one.</summary>
    public IReadOnlyList<ProbeSample> Unexpected => [.. Samples.Where(s => s.Result.IsOpen != Path.Allowed)];
}

/// <summary>Every path's samples from one session, with the checks the fault tests make on them.</summary>
public sealed record ProbeReport(TimeSpan Duration, IReadOnlyList<PathReport> Paths)
{
    public int ProbeCount => Paths.Sum(p => p.Samples.Count);

    public int UnexpectedCount => Paths.Sum(p => p.Unexpected.Count);

    /// <summary>
    /// Fails unless every path was probed at least <paramref name="minimumPerPath"/> times (so a
    /// session that barely ran cannot pass) and no probe saw an allowed path closed or a denied
    /// path open; the message lists each unexpected probe with its time.
    /// </summary>
    public void AssertNoUnexpected(string what, int minimumPerPath = 3)
    {
        foreach (var path in Paths)
        {
            Assert.True(path.Samples.Count >= minimumPerPath,
                $"{what}: {path.Path} was probed only {path.Samples.Count} times in {Duration.TotalSeconds:F1} s");
        }

        Assert.True(UnexpectedCount == 0, $"{what}: {UnexpectedCount} of {ProbeCount} probes unexpected\n{Describe()}");
    }

    /// <summary>One line per path (probe count, outcomes), then every unexpected probe.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        foreach (var path in Paths)
        {
            var outcomes = string.Join(", ", path.Samples.GroupBy(s => s.Result.Code).Select(g => $"{g.Key} {g.Count()}"));
            text.AppendLine($"{path.Path}: {path.Samples.Count} probes ({outcomes})");
            foreach (var sample in path.Unexpected)
            {
                text.AppendLine($"  at {sample.At.TotalSeconds:F2} s: {sample.Result}");
            }
        }

        return text.ToString();
    }
}
