using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using dotnet_etcd;
using Grpc.Net.Client;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// One real single-member etcd (Debian's etcd-server 3.4) for the integration tests, on free
/// loopback ports with its own temporary data dir, or inside a test namespace on an address of it
/// (<see cref="EtcdPlacement"/>), where agents in other namespaces reach it over a test LAN. It can
/// be stopped, killed and started again on the same ports and data, which is what the agent's
/// resync and reconnect paths are tested with. Disposing always kills the process and deletes the
/// directory.
/// </summary>
public sealed class EtcdServer : IAsyncDisposable, IDisposable
{
    private const int PortAttempts = 5;

    // A namespace the server runs in is its own: nothing else listens there, so the usual ports do.
    private const int NamespacedClientPort = 2379;
    private const int NamespacedPeerPort = 2380;
    private const int LogTailLines = 40;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan StopGracePeriod = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan KillTimeout = TimeSpan.FromSeconds(10);

    private readonly string _etcdPath;
    private readonly string _clusterToken;
    private readonly LogBuffer _log = new(500);
    private readonly HttpClient? _health;
    private readonly List<GrpcChannel> _channels = [];
    private Process? _process;
    private int _starts;
    private bool _disposed;

    private EtcdServer(string etcdPath, string rootDirectory, int clientPort, int peerPort, EtcdTls? tls, EtcdPlacement? placement = null)
    {
        Tls = tls;
        Placement = placement;
        _health = placement is null ? tls?.CreateHttpClient() : NamespaceSockets.CreateHttpClient(placement.Namespace, TimeSpan.FromSeconds(2));
        _etcdPath = etcdPath;
        RootDirectory = rootDirectory;
        ClientPort = clientPort;
        PeerPort = peerPort;
        _clusterToken = "felix-it-" + RandomNumberGenerator.GetHexString(8, lowercase: true);
    }

    /// <summary>The member name passed as <c>--name</c>.</summary>
    public string Name { get; } = "felix-it";

    public int ClientPort { get; }

    public int PeerPort { get; }

    /// <summary>With TLS: https with client-certificate authentication, signed by <see cref="EtcdTls.CaFile"/>.</summary>
    public EtcdTls? Tls { get; }

    /// <summary>Null for a loopback member; else the namespace and address it serves clients on.</summary>
    public EtcdPlacement? Placement { get; }

    /// <summary>
    /// The URL clients use, e.g. <c>http://127.0.0.1:40123</c> (https with TLS). With a
    /// <see cref="Placement"/> it is <c>http://&lt;address&gt;:2379</c>, reachable from the namespaces
    /// on the same test network but not from the test process's own namespace: use
    /// <see cref="CreateClient"/> there.
    /// </summary>
    public string ClientUrl => Placement is { } placement
        ? $"http://{new IPEndPoint(placement.Address, ClientPort)}"
        : $"{(Tls is null ? "http" : "https")}://127.0.0.1:{ClientPort}";

    /// <summary>The peer URL; on the member's own loopback, as a single member has no peers to reach.</summary>
    public string PeerUrl => $"http://127.0.0.1:{PeerPort}";

    /// <summary>The temporary directory owned by this server; deleted on dispose.</summary>
    public string RootDirectory { get; }

    /// <summary>etcd's <c>--data-dir</c>, inside <see cref="RootDirectory"/>; survives stop/start.</summary>
    public string DataDirectory => Path.Combine(RootDirectory, "data");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The pid of the running etcd, or null when it is not running.</summary>
    public int? ProcessId => IsRunning ? _process!.Id : null;

    /// <summary>
    /// Starts a new member on fresh free ports and a fresh data dir and waits until it is healthy.
    /// Retries with other ports when one was taken between picking and binding.
    /// </summary>
    public static async Task<EtcdServer> StartNewAsync(CancellationToken cancellationToken = default) =>
        await StartNewAsync(tls: null, cancellationToken);

    /// <summary>Like <see cref="StartNewAsync(CancellationToken)"/>, serving clients over TLS when <paramref name="tls"/> is given.</summary>
    public static async Task<EtcdServer> StartNewAsync(EtcdTls? tls, CancellationToken cancellationToken = default)
    {
        var etcdPath = Require.Executable("etcd", "etcd-server");
        for (var attempt = 1; ; attempt++)
        {
            var (clientPort, peerPort) = LoopbackPorts.PickTwo();
            var rootDirectory = Directory.CreateTempSubdirectory("felix-it-etcd-").FullName;
            var server = new EtcdServer(etcdPath, rootDirectory, clientPort, peerPort, tls);
            try
            {
                await server.StartAsync(cancellationToken);
                return server;
            }
            catch (InvalidOperationException) when (attempt < PortAttempts && server.LogContains("address already in use"))
            {
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>
    /// Starts a member inside <paramref name="placement"/>'s namespace, serving plaintext clients on
    /// its address (port 2379), and waits until it is healthy. One such member per namespace.
    /// </summary>
    public static async Task<EtcdServer> StartInNamespaceAsync(EtcdPlacement placement, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(placement);
        var etcdPath = Require.Executable("etcd", "etcd-server");
        var rootDirectory = Directory.CreateTempSubdirectory("felix-it-etcd-").FullName;
        var server = new EtcdServer(etcdPath, rootDirectory, NamespacedClientPort, NamespacedPeerPort, tls: null, placement);
        try
        {
            await server.StartAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Creates a client for this member; the caller disposes it. For a member in a namespace its
    /// connections are made from inside that namespace, so the test process can reach it.
    /// </summary>
    public EtcdClient CreateClient()
    {
        if (Placement is not { } placement)
        {
            return new EtcdClient(ClientUrl);
        }

        // A client made from a call invoker does not own its channel: the server disposes them all.
        var channel = NamespaceSockets.CreateGrpcChannel(placement.Namespace, ClientUrl);
        lock (_channels)
        {
            _channels.Add(channel);
        }

        return new EtcdClient(channel.CreateCallInvoker());
    }

    /// <summary>The last lines etcd logged (all starts), for failure messages.</summary>
    public string LogTail(int lines = LogTailLines) => _log.Tail(lines);

    /// <summary>Whether etcd's kept log contains the text.</summary>
    public bool LogContains(string text) => _log.Contains(text);

    /// <summary>Starts etcd on this server's ports and data dir and waits until it is healthy.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsRunning)
        {
            throw new InvalidOperationException($"etcd (pid {_process!.Id}) is already running on {ClientUrl}.");
        }

        _process?.Dispose();
        _starts++;
        var startInfo = EtcdCommandLine.Create(_etcdPath, Name, DataDirectory, ClientUrl, PeerUrl, _clusterToken, Tls);
        if (Placement is not null)
        {
            EtcdCommandLine.RunInNamespace(startInfo, Require.Executable("ip", "iproute2"), Placement.Namespace.Name);
        }

        _log.Append($"=== start #{_starts}: {startInfo.FileName} {string.Join(' ', startInfo.ArgumentList)}");
        var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => AppendLog(e.Data);
        process.ErrorDataReceived += (_, e) => AppendLog(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await WaitUntilHealthyAsync(process, cancellationToken);
    }

    /// <summary>Sends SIGTERM, waits for a clean exit, and sends SIGKILL if it does not come.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        var process = _process;
        if (process is null || process.HasExited)
        {
            return;
        }

        var kill = Require.Executable("kill", "procps");
        var pid = process.Id.ToString(CultureInfo.InvariantCulture);
        await CommandRunner.RunAsync(kill, ["-s", "TERM", pid], cancellationToken: cancellationToken);
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        grace.CancelAfter(StopGracePeriod);
        try
        {
            await process.WaitForExitAsync(grace.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _log.Append($"=== etcd did not exit within {StopGracePeriod} of SIGTERM; sending SIGKILL");
            await KillAsync();
        }
    }

    /// <summary>Kills etcd with SIGKILL (a crash, as far as etcd and its clients can tell).</summary>
    public async Task KillAsync()
    {
        var process = _process;
        if (process is null)
        {
            return;
        }

        KillQuietly(process);
        using var timeout = new CancellationTokenSource(KillTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new InvalidOperationException($"etcd (pid {process.Id}) did not exit after SIGKILL.");
        }
    }

    /// <summary>Stops etcd (if running) and starts it again on the same ports and data dir.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await StopAsync(cancellationToken);
        await StartAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            await KillAsync();
        }
        finally
        {
            _process?.Dispose();
            _process = null;
            _health?.Dispose();
            DisposeChannels();
            DeleteRootDirectory();
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (_process is { } process)
            {
                KillQuietly(process);
                process.WaitForExit(KillTimeout);
            }
        }
        finally
        {
            _process?.Dispose();
            _process = null;
            _health?.Dispose();
            DisposeChannels();
            DeleteRootDirectory();
        }
    }

    private async Task WaitUntilHealthyAsync(Process process, CancellationToken cancellationToken)
    {
        using var ready = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ready.CancelAfter(ReadyTimeout);
        try
        {
            while (true)
            {
                if (process.HasExited)
                {
                    await process.WaitForExitAsync(ready.Token);
                    throw new InvalidOperationException(
                        $"etcd exited with code {process.ExitCode} before it became healthy on {ClientUrl}."
                        + $"{Environment.NewLine}etcd log tail:{Environment.NewLine}{LogTail()}");
                }

                if (await EtcdHealthProbe.IsHealthyAsync(ClientUrl, ready.Token, _health))
                {
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(100), ready.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await KillAsync();
            throw new TimeoutException(
                $"etcd did not become healthy on {ClientUrl} within {ReadyTimeout.TotalSeconds} s; killed it."
                + $"{Environment.NewLine}etcd log tail:{Environment.NewLine}{LogTail()}");
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
            throw;
        }
    }

    private void AppendLog(string? line)
    {
        if (line is not null)
        {
            _log.Append(line);
        }
    }

    private void DisposeChannels()
    {
        lock (_channels)
        {
            _channels.ForEach(channel => channel.Dispose());
            _channels.Clear();
        }
    }

    private void DeleteRootDirectory()
    {
        if (Directory.Exists(RootDirectory))
        {
            Directory.Delete(RootDirectory, recursive: true);
        }
    }

    private static void KillQuietly(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }
}
