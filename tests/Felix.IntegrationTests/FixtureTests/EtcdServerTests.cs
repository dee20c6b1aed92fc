using dotnet_etcd;
using Felix.IntegrationTests.Fixtures;
using Grpc.Core;

namespace Felix.IntegrationTests.FixtureTests;

/// <summary>
/// Proves the etcd fixture does what the agent's integration tests rely on: a real member that
/// answers, keeps its data across a clean stop and a crash, and leaves nothing behind.
/// </summary>
public sealed class EtcdServerTests : IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(20);
    private readonly EtcdFixture _fixture;

    public EtcdServerTests(EtcdFixture fixture)
    {
        _fixture = fixture;
    }

    [Fact]
    public async Task Shared_server_is_healthy_and_round_trips_a_key()
    {
        var server = _fixture.Server;
        Assert.True(server.IsRunning);
        Assert.Equal($"http://127.0.0.1:{server.ClientPort}", server.ClientUrl);
        Assert.NotEqual(server.ClientPort, server.PeerPort);
        Assert.True(await EtcdHealthProbe.IsHealthyAsync(server.ClientUrl, CancellationToken.None));

        using var client = new EtcdClient(server.ClientUrl);
        await client.PutAsync("/fixture-test/shared", "value-1", deadline: Deadline());

        Assert.Equal("value-1", await client.GetValAsync("/fixture-test/shared", deadline: Deadline()));
    }

    [Fact]
    public async Task Key_survives_stop_and_start_on_the_same_ports_and_data_dir()
    {
        await using var server = await EtcdServer.StartNewAsync();
        var clientUrl = server.ClientUrl;
        using (var client = server.CreateClient())
        {
            await client.PutAsync("/fixture-test/persisted", "kept", deadline: Deadline());
        }

        await server.StopAsync();
        Assert.False(server.IsRunning);
        Assert.True(Directory.Exists(server.DataDirectory));
        await server.StartAsync();

        Assert.Equal(clientUrl, server.ClientUrl);
        using var reconnected = server.CreateClient();
        Assert.Equal("kept", await reconnected.GetValAsync("/fixture-test/persisted", deadline: Deadline()));
    }

    [Fact]
    public async Task Client_fails_while_etcd_is_killed_and_recovers_after_restart()
    {
        await using var server = await EtcdServer.StartNewAsync();
        using var client = server.CreateClient();
        await client.PutAsync("/fixture-test/crash", "before", deadline: Deadline());
        var pid = server.ProcessId!.Value;

        await server.KillAsync();

        Assert.False(server.IsRunning);
        Assert.Null(server.ProcessId);
        Assert.False(ProcessProbe.IsAlive(pid), $"etcd pid {pid} still exists after SIGKILL");
        var failure = await Record.ExceptionAsync(
            () => client.GetValAsync("/fixture-test/crash", deadline: DateTime.UtcNow.AddSeconds(2)));
        Assert.True(IsUnreachable(failure), $"expected the call to fail as unreachable, got: {failure}");

        await server.RestartAsync();

        using var fresh = server.CreateClient();
        Assert.Equal("before", await fresh.GetValAsync("/fixture-test/crash", deadline: Deadline()));
        Assert.Equal("before", await GetWhenReachableAsync(client, "/fixture-test/crash"));
    }

    [Fact]
    public async Task Dispose_kills_etcd_and_deletes_its_directory()
    {
        var server = await EtcdServer.StartNewAsync();
        var pid = server.ProcessId!.Value;
        var root = server.RootDirectory;
        Assert.True(Directory.Exists(Path.Combine(server.DataDirectory, "member")));

        await server.DisposeAsync();
        await server.DisposeAsync();

        Assert.False(ProcessProbe.IsAlive(pid), $"etcd pid {pid} still exists after dispose");
        Assert.False(Directory.Exists(root), $"{root} still exists after dispose");
        Assert.False(server.IsRunning);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => server.StartAsync());
    }

    [Fact]
    public async Task Starting_a_running_server_is_rejected()
    {
        var server = _fixture.Server;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => server.StartAsync());

        Assert.Contains("already running", error.Message, StringComparison.Ordinal);
        Assert.True(server.IsRunning);
    }

    private static DateTime Deadline() => DateTime.UtcNow.Add(CallTimeout);

    // How a gRPC call to a dead member fails: Unavailable, DeadlineExceeded, or (when the deadline
    // expires inside Grpc.Net.Client's retry loop) an OperationCanceledException, since these tests
    // pass no cancellation token of their own.
    private static bool IsUnreachable(Exception? failure) => failure switch
    {
        RpcException rpc => rpc.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded,
        OperationCanceledException => true,
        _ => false,
    };

    // A client that saw the server die reconnects with gRPC's backoff; poll it within a bound.
    private static async Task<string> GetWhenReachableAsync(EtcdClient client, string key)
    {
        using var bound = new CancellationTokenSource(RecoveryTimeout);
        while (true)
        {
            try
            {
                return await client.GetValAsync(key, deadline: Deadline(), cancellationToken: bound.Token);
            }
            catch (Exception e) when (IsUnreachable(e) && !bound.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), bound.Token);
            }
        }
    }
}
