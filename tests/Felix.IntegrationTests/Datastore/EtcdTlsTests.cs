using Felix.Agent.Datastore.Etcd;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Datastore;

/// <summary>TLS to etcd with a client certificate: works when right, refuses clearly when wrong.</summary>
public sealed class EtcdTlsTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("felix-it-tls-").FullName;
    private EtcdTls _tls = null!;
    private EtcdServer _etcd = null!;

    public async Task InitializeAsync()
    {
        _tls = await EtcdTls.CreateAsync(_directory);
        _etcd = await EtcdServer.StartNewAsync(_tls);
    }

    public async Task DisposeAsync()
    {
        await _etcd.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private GrpcEtcdStore Store(string? ca, string? cert, string? key, out EtcdConnection connection)
    {
        connection = new EtcdConnection(new EtcdConnectionOptions([new Uri(_etcd.ClientUrl)], ca, cert, key));
        return new GrpcEtcdStore(connection);
    }

    [Fact]
    public async Task The_right_CA_and_client_certificate_work()
    {
        var store = Store(_tls.CaFile, _tls.ClientCertFile, _tls.ClientKeyFile, out var connection);
        using var _ = connection;

        await store.PutAsync("/calico/v1/Ready", "true", 0, CancellationToken.None);
        var page = await store.RangeAsync("/calico/v1/Ready", "/calico/v1/Ready\0", 0, 1, CancellationToken.None);
        Assert.Single(page.Items);
    }

    [Fact]
    public async Task A_client_without_a_certificate_is_refused()
    {
        var store = Store(_tls.CaFile, null, null, out var connection);
        using var _ = connection;

        var error = await Assert.ThrowsAsync<DatastoreUnavailableException>(() =>
            store.RangeAsync("/", "0", 0, 1, CancellationToken.None));
        Assert.Contains("set EtcdCertFile and EtcdKeyFile", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_signed_by_another_CA_is_not_trusted()
    {
        var store = Store(_tls.OtherCaFile, _tls.ClientCertFile, _tls.ClientKeyFile, out var connection);
        using var _ = connection;

        var error = await Assert.ThrowsAsync<DatastoreUnavailableException>(() =>
            store.RangeAsync("/", "0", 0, 1, CancellationToken.None));
        Assert.Contains(_etcd.ClientUrl.Replace("https://", "", StringComparison.Ordinal), error.Message, StringComparison.Ordinal);
        Assert.Contains($"is not signed by the CA in EtcdCaFile {_tls.OtherCaFile}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Certificates_with_a_plaintext_endpoint_are_refused_outright()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new EtcdConnection(new EtcdConnectionOptions(
            [new Uri(_etcd.ClientUrl.Replace("https", "http", StringComparison.Ordinal))], _tls.CaFile, _tls.ClientCertFile, _tls.ClientKeyFile)));
        Assert.Contains("refusing to connect without TLS", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_agent_syncs_over_TLS_and_a_key_without_its_certificate_stops_start_up()
    {
        await using (var agent = await AgentProcess.StartAsync(new Dictionary<string, string>
        {
            ["FELIX_ETCDENDPOINTS"] = _etcd.ClientUrl,
            ["FELIX_ETCDCAFILE"] = _tls.CaFile,
            ["FELIX_ETCDCERTFILE"] = _tls.ClientCertFile,
            ["FELIX_ETCDKEYFILE"] = _tls.ClientKeyFile,
        }))
        {
            var store = Store(_tls.CaFile, _tls.ClientCertFile, _tls.ClientKeyFile, out var connection);
            using var _ = connection;
            await store.PutAsync("/calico/v1/Ready", "true", 0, CancellationToken.None);
            await agent.WaitForLivenessAsync(TimeSpan.FromSeconds(20));
            Assert.True(await SyncHarness.EventuallyAsync(
                () => agent.StandardOutput.Any(l => l.Contains("In sync with etcd", StringComparison.Ordinal)), TimeSpan.FromSeconds(30)),
                agent.Output());
        }

        await using var broken = await AgentProcess.StartAsync(new Dictionary<string, string>
        {
            ["FELIX_ETCDENDPOINTS"] = _etcd.ClientUrl,
            ["FELIX_ETCDCAFILE"] = _tls.CaFile,
            ["FELIX_ETCDCERTFILE"] = _tls.ClientCertFile,
            ["FELIX_ETCDKEYFILE"] = _tls.CaFile,
        });
        Assert.Equal(1, await broken.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains(broken.StandardError, l => l.Contains("cannot load the etcd client certificate", StringComparison.Ordinal));
    }
}
