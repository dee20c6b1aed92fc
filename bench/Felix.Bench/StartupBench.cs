using System.Diagnostics;
using System.Globalization;

namespace Felix.Bench;

/// <summary>
/// Start-up of the agent as shipped (Native AOT) and as a JIT build: time from spawn until
/// <c>/liveness</c> answers, and resident memory once it does. The floor is spawning
/// <c>/bin/true</c> and waiting for it, the least any process start can cost on this machine.
/// All servers bind to the loopback of the bench's own namespace, which this scenario runs inside,
/// on ports the kernel hands out; etcd is a port nothing listens on (the agent stays unsynced).
/// </summary>
internal static class StartupBench
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    public static async Task<int> RunAsync(BenchOptions options)
    {
        foreach (var path in new[] { options.AotBinary, options.JitAssembly })
        {
            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"missing {path}: run 'dotnet publish src/Felix.Agent -c Release -o out/felix' and 'dotnet build src/Felix.Agent -c Release'");
                return 1;
            }
        }

        var floor = await MeasureAsync(options.Runs, () => Spawn("/bin/true", []), waitForLiveness: false);
        var aot = await MeasureAsync(options.Runs, () => Spawn(options.AotBinary, []), waitForLiveness: true);
        var jit = await MeasureAsync(options.Runs, () => Spawn("dotnet", [options.JitAssembly]), waitForLiveness: true);

        Console.WriteLine(FormattableString.Invariant($"startup ({options.Runs} runs each, medians)"));
        Console.WriteLine(FormattableString.Invariant($"  floor: spawn /bin/true          {floor.Millis,8:0.0} ms"));
        Console.WriteLine(FormattableString.Invariant($"  AOT:   spawn → /liveness 200    {aot.Millis,8:0.0} ms  ({aot.Millis / floor.Millis:0.0}x floor)  RSS {aot.RssMiB,6:0.0} MiB"));
        Console.WriteLine(FormattableString.Invariant($"  JIT:   spawn → /liveness 200    {jit.Millis,8:0.0} ms  ({jit.Millis / floor.Millis:0.0}x floor)  RSS {jit.RssMiB,6:0.0} MiB"));
        Console.WriteLine(FormattableString.Invariant($"  AOT/JIT: time {aot.Millis / jit.Millis:0.00}, memory {aot.RssMiB / jit.RssMiB:0.00}"));
        return 0;
    }

    private sealed record Run(Process Process, int HealthPort);

    private sealed record Figures(double Millis, double RssMiB);

    private static async Task<Figures> MeasureAsync(int runs, Func<Run> spawn, bool waitForLiveness)
    {
        var times = new List<double>();
        var rss = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var run = spawn();
            using var process = run.Process;
            if (waitForLiveness)
            {
                await WaitForLivenessAsync(run);
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                rss.Add(ResidentMiB(process.Id));
                await StopAsync(process);
            }
            else
            {
                await process.WaitForExitAsync();
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
        return new Figures(Median(times), rss.Count == 0 ? 0 : Median(rss));
    }

    private static Run Spawn(string fileName, string[] arguments)
    {
        var healthPort = FreePorts.Pick();
        var start = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["FELIX_HEALTHPORT"] = healthPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["FELIX_PROMETHEUSMETRICSHOST"] = "127.0.0.1";
        start.Environment["FELIX_PROMETHEUSMETRICSPORT"] = FreePorts.Pick().ToString(CultureInfo.InvariantCulture);
        start.Environment["FELIX_ETCDENDPOINTS"] = $"http://127.0.0.1:{FreePorts.Pick()}";
        var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {fileName}");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new Run(process, healthPort);
    }

    private static async Task WaitForLivenessAsync(Run run)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await client.GetAsync(new Uri($"http://127.0.0.1:{run.HealthPort}/liveness"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Net.Sockets.SocketException)
            {
                // Not listening yet; a connection dropped before the request surfaces as a bare SocketException.
            }
            if (run.Process.HasExited)
            {
                throw new InvalidOperationException($"agent exited with {run.Process.ExitCode} before answering");
            }
            await Task.Delay(2);
        }
        run.Process.Kill();
        throw new TimeoutException("agent did not answer /liveness within 20 s");
    }

    private static async Task StopAsync(Process process)
    {
        using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await process.WaitForExitAsync(deadline.Token);
    }

    private static double ResidentMiB(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        var kib = double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        return kib / 1024;
    }


    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[values.Count / 2 - 1] + values[values.Count / 2]) / 2;
    }
}
