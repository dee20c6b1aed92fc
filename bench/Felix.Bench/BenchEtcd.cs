using System.Diagnostics;

namespace Felix.Bench;

/// <summary>
/// A throw-away etcd for one bench run: Debian's binary on free loopback ports, a temp data dir,
/// killed and deleted at the end. Bench scenarios load it with data, then measure against it.
/// </summary>
internal sealed class BenchEtcd : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private BenchEtcd(Process process, string directory, string clientUrl)
    {
        _process = process;
        _directory = directory;
        ClientUrl = clientUrl;
    }

    public string ClientUrl { get; }

    public static async Task<BenchEtcd> StartAsync()
    {
        var directory = Directory.CreateTempSubdirectory("felix-bench-etcd-").FullName;
        var client = $"http://127.0.0.1:{FreePorts.Pick()}";
        var peer = $"http://127.0.0.1:{FreePorts.Pick()}";
        var start = new ProcessStartInfo("etcd")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
        {
            "--name", "bench", "--data-dir", Path.Combine(directory, "data"),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", $"bench={peer}",
            "--quota-backend-bytes", "8589934592", "--logger", "zap", "--log-outputs", "stderr",
        })
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start etcd");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var etcd = new BenchEtcd(process, directory, client);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        for (var attempt = 0; attempt < 200; attempt++)
        {
            try
            {
                if ((await http.GetStringAsync(new Uri(client + "/health"))).Contains("true", StringComparison.Ordinal))
                {
                    return etcd;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not up yet, or too slow to answer within the probe's timeout.
            }
            await Task.Delay(100);
        }
        await etcd.DisposeAsync();
        throw new TimeoutException("etcd did not become healthy within 20 s");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

}
