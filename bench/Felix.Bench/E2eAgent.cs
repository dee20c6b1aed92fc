using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Tmds.Linux;

namespace Felix.Bench;

/// <summary>
/// The shipped agent binary as a child of the end-to-end bench, in the bench's namespace: configured
/// through its environment (the backend under test, IPv4 only, RemoteWorkloadRoutes on when the
/// cluster has remote endpoints, health and metrics on this namespace's loopback, DEBUG so it logs
/// each apply's duration), its CPU time, peak RSS and metrics read from outside, its stdout kept for where the time went and for the failure
/// report. Disposing stops it with SIGTERM, as systemd would, and kills it if it does not exit.
/// </summary>
internal sealed partial class E2eAgent : IAsyncDisposable
{
    /// <summary><c>_SC_CLK_TCK</c> (glibc): the unit of <c>/proc/PID/stat</c>'s CPU times.</summary>
    private const int ScClockTicks = 2;

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly int _healthPort;
    private readonly int _metricsPort;
    private readonly ConcurrentQueue<string> _tail = new();
    private readonly ConcurrentQueue<Apply> _applies = new();

    /// <summary>
    /// FELIXBENCH_AGENT_LOG=PATH: every line of every agent the run starts is appended there, so
    /// where an apply's time went can be read afterwards from the agent's own DEBUG log.
    /// </summary>
    private static readonly string? LogPath = Environment.GetEnvironmentVariable("FELIXBENCH_AGENT_LOG") is { Length: > 0 } path ? path : null;
    private static readonly Lock LogLock = new();

    private E2eAgent(Process process, int healthPort, int metricsPort)
    {
        _process = process;
        _healthPort = healthPort;
        _metricsPort = metricsPort;
    }

    /// <summary>One "Dataplane applied" line: when the bench read it, and the duration the agent logged.</summary>
    public sealed record Apply(long ReadAt, double Millis);

    /// <summary>What the agent logged on becoming ready: its first full apply, in milliseconds.</summary>
    public double? FirstApplyMillis { get; private set; }

    public static E2eAgent Start(string binary, string hostname, string etcdUrl, string backend, bool remoteRoutes)
    {
        var (healthPort, metricsPort) = (FreePorts.Pick(), FreePorts.Pick());
        var start = new ProcessStartInfo(binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["FELIX_FELIXHOSTNAME"] = hostname;
        start.Environment["FELIX_ETCDENDPOINTS"] = etcdUrl;
        start.Environment["FELIX_IPTABLESBACKEND"] = backend;
        start.Environment["FELIX_REMOTEWORKLOADROUTES"] = remoteRoutes ? "true" : "false";
        // Often enough that the route read-back's own metric has samples by the end of a size's run.
        start.Environment["FELIX_ROUTEREFRESHINTERVAL"] = "20";
        start.Environment["FELIX_IPV6SUPPORT"] = "false";
        start.Environment["FELIX_HEALTHPORT"] = healthPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["FELIX_PROMETHEUSMETRICSHOST"] = "127.0.0.1";
        start.Environment["FELIX_PROMETHEUSMETRICSPORT"] = metricsPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["FELIX_LOGSEVERITYSCREEN"] = "DEBUG";
        var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {binary}");
        var agent = new E2eAgent(process, healthPort, metricsPort);
        process.OutputDataReceived += (_, e) => agent.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => agent.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return agent;
    }

    /// <summary>Polls <c>/readiness</c> until it answers 200; throws with the log's tail if the agent exits or time runs out.</summary>
    public async Task<TimeSpan> WaitReadyAsync(TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        while (Stopwatch.GetElapsedTime(started) < timeout)
        {
            try
            {
                using var response = await client.GetAsync(new Uri($"http://127.0.0.1:{_healthPort}/readiness"));
                if (response.IsSuccessStatusCode)
                {
                    return Stopwatch.GetElapsedTime(started);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet, or too busy with its first apply to answer within the probe's timeout.
            }
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the agent exited with {_process.ExitCode} before it was ready:\n{Tail()}");
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"the agent was not ready within {timeout.TotalSeconds:0} s:\n{Tail()}");
    }

    /// <summary>The applies whose log line the bench read after <paramref name="since"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public List<Apply> AppliesSince(long since) => [.. _applies.Where(a => a.ReadAt > since)];

    /// <summary>Resets the kernel's record of the agent's peak RSS (<c>VmHWM</c>), so the next reading is this scenario's.</summary>
    public void ResetPeakRss() => File.WriteAllText($"/proc/{_process.Id}/clear_refs", "5");

    /// <summary>The agent's peak RSS since start or the last <see cref="ResetPeakRss"/>, in MiB.</summary>
    public double PeakRssMegabytes()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    /// <summary>
    /// CPU seconds so far: the agent's own (user + system) and its waited-for children's
    /// (<c>iptables-restore</c>, <c>ipset</c>, the saves), from <c>/proc/PID/stat</c>.
    /// </summary>
    public (double Own, double Children) CpuSeconds()
    {
        var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
        // Fields from the state on (field 3), after the command name, which may hold spaces.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        double Ticks(int field) => double.Parse(fields[field - 3], CultureInfo.InvariantCulture);
        double perSecond = LibC.sysconf(ScClockTicks);
        return ((Ticks(14) + Ticks(15)) / perSecond, (Ticks(16) + Ticks(17)) / perSecond);
    }

    /// <summary>The sum of a metric's samples (all label sets) as <c>/metrics</c> serves it now; 0 when absent.</summary>
    public async Task<double> MetricAsync(string name)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var text = await client.GetStringAsync(new Uri($"http://127.0.0.1:{_metricsPort}/metrics"));
        return text.Split('\n')
            .Where(l => l.StartsWith(name + " ", StringComparison.Ordinal) || l.StartsWith(name + "{", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
    }

    /// <summary>A metric's samples by the value of <paramref name="label"/> (summed over its other labels).</summary>
    public async Task<IReadOnlyDictionary<string, double>> MetricByLabelAsync(string name, string label)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var text = await client.GetStringAsync(new Uri($"http://127.0.0.1:{_metricsPort}/metrics"));
        var values = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n').Where(l => l.StartsWith(name + "{", StringComparison.Ordinal)))
        {
            var at = line.IndexOf(label + "=\"", StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }
            var start = at + label.Length + 2;
            var key = line[start..line.IndexOf('"', start)];
            values[key] = values.GetValueOrDefault(key) + double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        }
        return values;
    }

    /// <summary>Throws with the log's tail if the agent is no longer running.</summary>
    public void CheckRunning()
    {
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"the agent exited with {_process.ExitCode}:\n{Tail()}");
        }
    }

    /// <summary>The last lines the agent wrote, for a failure report.</summary>
    public string Tail() => string.Join('\n', _tail.Select(l => "    | " + l));

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _ = LibC.kill(_process.Id, LibC.SIGTERM);
            using var deadline = new CancellationTokenSource(StopTimeout);
            try
            {
                await _process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"e2e: the agent did not exit within {StopTimeout.TotalSeconds:0} s of SIGTERM; killing it");
                _process.Kill();
                await _process.WaitForExitAsync();
            }
        }
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        var readAt = Stopwatch.GetTimestamp();
        if (LogPath is not null)
        {
            lock (LogLock)
            {
                File.AppendAllText(LogPath, $"[pid {_process.Id}] {line}\n");
            }
        }
        _tail.Enqueue(line);
        while (_tail.Count > 40 && _tail.TryDequeue(out _))
        {
        }
        if (AppliedLine().Match(line) is { Success: true } applied)
        {
            _applies.Enqueue(new Apply(readAt, double.Parse(applied.Groups[1].ValueSpan, CultureInfo.InvariantCulture)));
        }
        else if (ReadyLine().Match(line) is { Success: true } ready)
        {
            FirstApplyMillis = double.Parse(ready.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
        }
    }

    // The agent's DataplaneDriver log messages (DEBUG and INFO).
    [GeneratedRegex(@"Dataplane applied in ([0-9.]+) ms")]
    private static partial Regex AppliedLine();

    [GeneratedRegex(@"Dataplane ready: .*\(first full apply ([0-9.]+) ms\)")]
    private static partial Regex ReadyLine();
}
