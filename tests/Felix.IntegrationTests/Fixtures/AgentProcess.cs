using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// The published agent binary (<c>FELIX_BINARY</c>, else <c>out/felix/felix</c>) running as a child
/// process, always inside a network namespace, never in the root one: it programs the iptables,
/// ipsets, routes and sysctls of the namespace it runs in. Unless the test names one, it gets a
/// namespace of its own (lo up, deleted on dispose), and a <see cref="LoopbackBridge"/> makes each
/// etcd the test names on root <c>127.0.0.1</c> reachable inside at the same address, so URLs and
/// TLS certificates stay as they are. In either case the health and metrics ports are bridged out
/// to root <c>127.0.0.1</c>, where tests probe them. Its environment is hermetic: inherited
/// <c>FELIX_*</c> and <c>JOURNAL_STREAM</c> are dropped and an empty config file is named, so only
/// what a test passes configures it. Health and metrics get free loopback ports, and etcd a port
/// nobody listens on unless the test passes <c>FELIX_ETCDENDPOINTS</c>.
/// </summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly string _configFile;
    private readonly LoopbackBridge _bridge;
    private readonly NetworkNamespaces? _ownNamespace;
    private bool _disposed;

    private AgentProcess(Process process, string configFile, int healthPort, int metricsPort, LoopbackBridge bridge, NetworkNamespaces? ownNamespace)
    {
        _process = process;
        _configFile = configFile;
        _bridge = bridge;
        _ownNamespace = ownNamespace;
        HealthPort = healthPort;
        MetricsPort = metricsPort;
    }

    public int HealthPort { get; }

    public int MetricsPort { get; }

    public int ProcessId => _process.Id;

    /// <summary>The network namespace the agent runs in: its own, or the one the test named.</summary>
    public string Namespace => _bridge.Namespace;

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
    /// <param name="inside">
    /// Run inside this namespace rather than a new one; only health and metrics are bridged then,
    /// an etcd on root loopback is not (the namespace is the test's, and so is its loopback).
    /// </param>
    /// <param name="launcher">
    /// A command that runs inside the namespace and runs the agent given after it: either by exec
    /// (<see cref="UnitSandbox.Launcher"/>), so the child's pid stays the agent's, or as its own
    /// child (<see cref="SystemdStandIn.Launcher"/>), passing signals on.
    /// </param>
    /// <param name="binary">The agent executable; <see cref="BinaryPath"/> unless given.</param>
    public static async Task<AgentProcess> StartAsync(IReadOnlyDictionary<string, string>? environment = null, IReadOnlyList<string>? arguments = null, NetNs? inside = null,
        IReadOnlyList<string>? launcher = null, string? binary = null)
    {
        environment ??= new Dictionary<string, string>();
        var configFile = Path.GetTempFileName();
        NetworkNamespaces? ownNamespace = null;
        LoopbackBridge? bridge = null;
        Process? process = null;
        try
        {
            if (inside is null)
            {
                ownNamespace = new NetworkNamespaces();
                inside = await ownNamespace.CreateNamespaceAsync("agent");
            }
            var start = StartInfo(environment, [.. launcher ?? [], binary ?? BinaryPath, .. arguments ?? ["--config-file", configFile]], inside);
            var healthPort = int.Parse(start.Environment["FELIX_HEALTHPORT"]!, CultureInfo.InvariantCulture);
            var metricsPort = int.Parse(start.Environment["FELIX_PROMETHEUSMETRICSPORT"]!, CultureInfo.InvariantCulture);

            bridge = new LoopbackBridge(inside);
            if (ownNamespace is not null)
            {
                foreach (var port in RootLoopbackEtcdPorts(environment))
                {
                    bridge.ShareRootPort(port);
                }
            }
            bridge.ShareNamespacePort(healthPort);
            bridge.ShareNamespacePort(metricsPort);

            process = new Process { StartInfo = start };
            var agent = new AgentProcess(process, configFile, healthPort, metricsPort, bridge, ownNamespace);
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) { agent._stdout.Enqueue(e.Data); } };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { agent._stderr.Enqueue(e.Data); } };
            process.Start();
            process.StandardInput.Close();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return agent;
        }
        catch
        {
            process?.Dispose();
            if (bridge is not null)
            {
                await bridge.DisposeAsync();
            }
            if (ownNamespace is not null)
            {
                await ownNamespace.DisposeAsync();
            }
            File.Delete(configFile);
            throw;
        }
    }

    /// <summary>Polls <c>/liveness</c> (every 50 ms, at most <paramref name="timeout"/>) until it answers 2xx.</summary>
    public async Task WaitForLivenessAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
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
            catch (Exception e) when (IsNotAnsweringYet(e))
            {
                // Not listening yet.
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
        throw new InvalidOperationException($"agent did not become live within {timeout}; exited: {_process.HasExited}\n{Output()}");
    }

    /// <summary>Polls <c>/readiness</c> every 100 ms, at most <paramref name="timeout"/>, until it answers 200; fails with the last answer and the agent's output.</summary>
    public async Task WaitForReadinessAsync(TimeSpan timeout)
    {
        using var http = CreateHttpClient(TimeSpan.FromSeconds(1));
        var clock = Stopwatch.StartNew();
        var last = "no answer";
        while (clock.Elapsed < timeout && !_process.HasExited)
        {
            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{HealthPort}/readiness"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }
            catch (Exception e) when (IsNotAnsweringYet(e))
            {
                last = e.Message;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        throw new TimeoutException($"agent in {Namespace} not ready within {timeout} (last: {last}; exited: {_process.HasExited})\n{Output()}");
    }

    /// <summary>
    /// One answer of <c>/<paramref name="path"/></c> (<c>liveness</c> or <c>readiness</c>), or null
    /// when the health port does not answer within <paramref name="timeout"/> (2 s by default).
    /// </summary>
    public async Task<HttpStatusCode?> HealthStatusAsync(string path, TimeSpan? timeout = null)
    {
        using var http = CreateHttpClient(timeout ?? TimeSpan.FromSeconds(2));
        try
        {
            using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{HealthPort}/{path}"));
            return response.StatusCode;
        }
        catch (Exception e) when (IsNotAnsweringYet(e))
        {
            return null;
        }
    }

    /// <summary>
    /// What a poll of a port that is not serving yet can throw. The bridge in front of the agent's
    /// namespace accepts before the agent listens and then drops the connection, which surfaces as a
    /// bare <see cref="System.Net.Sockets.SocketException"/> ("not connected") rather than an
    /// <see cref="HttpRequestException"/>.
    /// </summary>
    public static bool IsNotAnsweringYet(Exception e) =>
        e is HttpRequestException or TaskCanceledException or System.Net.Sockets.SocketException or IOException;

    /// <summary>A client for the agent's health and metrics ports, which the bridge serves on root <c>127.0.0.1</c>.</summary>
    public static HttpClient CreateHttpClient(TimeSpan timeout) => new() { Timeout = timeout };

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

    /// <summary>Kills the agent if it still runs, then closes the bridge and deletes its own namespace.</summary>
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
        await _bridge.DisposeAsync();
        if (_ownNamespace is not null)
        {
            await _ownNamespace.DisposeAsync();
        }
        File.Delete(_configFile);
    }

    // `ip netns exec` execs the command, so the child's pid is the agent's own or its launcher's
    // (signals reach it).
    private static ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string> environment, IReadOnlyList<string> command, NetNs netns)
    {
        var (healthPort, metricsPort) = LoopbackPorts.PickTwo();
        var start = new ProcessStartInfo("ip")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])["netns", "exec", netns.Name, .. command])
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
        // The ports are free on root loopback, where the bridge listens on them; inside, the
        // agent's namespace has nothing else listening.
        start.Environment["FELIX_HEALTHPORT"] = healthPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["FELIX_PROMETHEUSMETRICSHOST"] = "127.0.0.1";
        start.Environment["FELIX_PROMETHEUSMETRICSPORT"] = metricsPort.ToString(CultureInfo.InvariantCulture);
        // A port nothing listens on unless the test names its etcd: never 2379, where a machine's
        // own etcd might answer in a namespace the test did not make.
        start.Environment["FELIX_ETCDENDPOINTS"] = $"http://127.0.0.1:{LoopbackPorts.PickTwo().First}";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        return start;
    }

    /// <summary>
    /// The ports of the etcd URLs on root <c>127.0.0.1</c> the test names in <c>FELIX_ETCDENDPOINTS</c>
    /// (the agent matches the name case-insensitively, and so does this). The default dead port is
    /// not among them: in a fresh namespace it is refused, as the tests expect.
    /// </summary>
    private static IEnumerable<int> RootLoopbackEtcdPorts(IReadOnlyDictionary<string, string> environment) =>
        environment
            .Where(pair => string.Equals(pair.Key, "FELIX_ETCDENDPOINTS", StringComparison.OrdinalIgnoreCase))
            .SelectMany(pair => pair.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(url => Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri : null)
            .Where(uri => uri is { Scheme: "http" or "https", Host: "127.0.0.1" })
            .Select(uri => uri!.Port)
            .Distinct();

    internal static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Felix.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("cannot find the repository root (Felix.sln)");
    }
}
