using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// The published agent binary (<c>FELIX_BINARY</c>, else <c>out/felix/felix</c>) running as a child
/// process, optionally inside a network namespace. Its environment is hermetic: inherited
/// <c>FELIX_*</c> and <c>JOURNAL_STREAM</c> are dropped and an empty config file is named, so only
/// what a test passes configures it. Health and metrics get free loopback ports, and etcd a port
/// nobody listens on unless the test passes <c>FELIX_ETCDENDPOINTS</c>. Inside a namespace those
/// ports are on that namespace's loopback, which <see cref="CreateHttpClient"/> reaches.
/// </summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly string _configFile;
    private readonly NetNs? _inside;
    private bool _disposed;

    private AgentProcess(Process process, string configFile, int healthPort, int metricsPort, NetNs? inside)
    {
        _process = process;
        _configFile = configFile;
        _inside = inside;
        HealthPort = healthPort;
        MetricsPort = metricsPort;
    }

    public int HealthPort { get; }

    public int MetricsPort { get; }

    public int ProcessId => _process.Id;

    public IReadOnlyList<string> StandardOutput => [.. _stdout];

    public IReadOnlyList<string> StandardError => [.. _stderr];

    public static string BinaryPath
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("FELIX_BINARY") ?? Path.Combine(RepositoryRoot(), "out", "felix", "felix");
            if (!File.Exists(path))
            {
                throw new InvalidOperationException(
                    $"agent binary {path} not found: run ./scripts/test.sh, or 'dotnet publish src/Felix.Agent -c Release -o out/felix'");
            }
            return path;
        }
    }

    /// <param name="environment">Extra variables; they override the free ports chosen here.</param>
    /// <param name="arguments">Command line; <c>null</c> means <c>--config-file &lt;empty file&gt;</c>.</param>
    /// <param name="inside">Run inside this namespace (via <c>ip netns exec</c>, which execs the agent).</param>
    public static AgentProcess Start(IReadOnlyDictionary<string, string>? environment = null, IReadOnlyList<string>? arguments = null, NetNs? inside = null)
    {
        var configFile = Path.GetTempFileName();
        var (healthPort, metricsPort) = LoopbackPorts.PickTwo();
        var start = new ProcessStartInfo(inside is null ? BinaryPath : "ip")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (inside is not null)
        {
            foreach (var argument in new[] { "netns", "exec", inside.Name, BinaryPath })
            {
                start.ArgumentList.Add(argument);
            }
        }
        foreach (var argument in arguments ?? ["--config-file", configFile])
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var name in start.Environment.Keys.ToList())
        {
            if (name.StartsWith("FELIX_", StringComparison.OrdinalIgnoreCase) || name == "JOURNAL_STREAM")
            {
                start.Environment.Remove(name);
            }
        }
        start.Environment["FELIX_HEALTHPORT"] = healthPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["FELIX_PROMETHEUSMETRICSHOST"] = "127.0.0.1";
        start.Environment["FELIX_PROMETHEUSMETRICSPORT"] = metricsPort.ToString(CultureInfo.InvariantCulture);
        // Never the machine's own etcd on 2379 (installing etcd-server may start one): a free port
        // nothing listens on, unless the test names its etcd.
        start.Environment["FELIX_ETCDENDPOINTS"] = $"http://127.0.0.1:{LoopbackPorts.PickTwo().First}";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start };
        var agent = new AgentProcess(process, configFile,
            int.Parse(start.Environment["FELIX_HEALTHPORT"]!, CultureInfo.InvariantCulture),
            int.Parse(start.Environment["FELIX_PROMETHEUSMETRICSPORT"]!, CultureInfo.InvariantCulture),
            inside);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { agent._stdout.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { agent._stderr.Enqueue(e.Data); } };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return agent;
    }

    /// <summary>Polls <c>/liveness</c> (every 50 ms, at most <paramref name="timeout"/>) until it answers 2xx.</summary>
    public async Task WaitForLivenessAsync(TimeSpan timeout)
    {
        using var client = CreateHttpClient(TimeSpan.FromSeconds(1));
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            try
            {
                using var response = await client.GetAsync(new Uri($"http://127.0.0.1:{HealthPort}/liveness"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
        throw new InvalidOperationException($"agent did not become live within {timeout}; exited: {_process.HasExited}\n{Output()}");
    }

    /// <summary>
    /// An HTTP client that reaches the agent's health and metrics ports: from the namespace the
    /// agent runs in, so <c>http://127.0.0.1:port</c> is the agent's loopback. The caller disposes it.
    /// </summary>
    public HttpClient CreateHttpClient(TimeSpan timeout) =>
        _inside is null ? new HttpClient { Timeout = timeout } : NamespaceSockets.CreateHttpClient(_inside, timeout);

    public async Task SignalAsync(string signal) =>
        await CommandRunner.RunCheckedAsync("kill", [$"-{signal}", ProcessId.ToString(CultureInfo.InvariantCulture)]);

    /// <summary>Waits for the agent to exit and returns its exit code; throws if it takes longer.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"agent still running after {timeout}\n{Output()}");
        }
        return _process.ExitCode;
    }

    /// <summary>Everything the agent printed, for failure messages.</summary>
    public string Output() => $"stdout:\n{string.Join('\n', _stdout)}\nstderr:\n{string.Join('\n', _stderr)}";

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        File.Delete(_configFile);
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Felix.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("cannot find the repository root (Felix.sln)");
    }
}
