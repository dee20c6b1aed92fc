using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Tmds.Linux;

namespace Felix.Bench;

/// <summary>
/// The shipped agent binary as a child of the end-to-end bench, in the bench's namespace: configured
/// through its environment (nft, IPv4 only, health and metrics on this namespace's loopback, DEBUG
/// so it logs each apply's duration), its stdout kept for where the time went and for the failure
/// report. Disposing stops it with SIGTERM, as systemd would, and kills it if it does not exit.
/// </summary>
internal sealed partial class E2eAgent : IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly int _healthPort;
    private readonly ConcurrentQueue<string> _tail = new();
    private readonly ConcurrentQueue<Apply> _applies = new();

    private E2eAgent(Process process, int healthPort)
    {
        _process = process;
        _healthPort = healthPort;
    }

    /// <summary>One "Dataplane applied" line: when the bench read it, and the duration the agent logged.</summary>
    public sealed record Apply(long ReadAt, double Millis);

    /// <summary>What the agent logged on becoming ready: its first full apply, in milliseconds.</summary>
    public double? FirstApplyMillis { get; private set; }

    public static E2eAgent Start(string binary, string hostname, string etcdUrl)
    {
        var healthPort = FreePorts.Pick();
        var start = new ProcessStartInfo(binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["FELIX_FELIXHOSTNAME"] = hostname;
        start.Environment["FELIX_ETCDENDPOINTS"] = etcdUrl;
        start.Environment["FELIX_IPTABLESBACKEND"] = "nft";
        start.Environment["FELIX_IPV6SUPPORT"] = "false";
        start.Environment["FELIX_HEALTHPORT"] = healthPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["FELIX_PROMETHEUSMETRICSHOST"] = "127.0.0.1";
        start.Environment["FELIX_PROMETHEUSMETRICSPORT"] = FreePorts.Pick().ToString(CultureInfo.InvariantCulture);
        start.Environment["FELIX_LOGSEVERITYSCREEN"] = "DEBUG";
        var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {binary}");
        var agent = new E2eAgent(process, healthPort);
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
