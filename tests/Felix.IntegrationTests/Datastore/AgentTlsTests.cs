using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Felix.Agent.Datastore.Etcd;
using Felix.IntegrationTests.EndToEnd;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.Datastore;

/// <summary>
/// The published agent against an etcd that requires TLS with client certificates
/// (<c>--client-cert-auth</c>): it syncs and enforces a workload when the files are right; with the
/// wrong CA or no client certificate it says why, naming the endpoint, keeps retrying, stays live,
/// is not ready and programs nothing; and it never speaks plaintext where TLS was asked for.
/// </summary>
public sealed class AgentTlsTests : IAsyncLifetime
{
    private const string Hostname = "tls-host";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly string _directory = Directory.CreateTempSubdirectory("felix-it-agent-tls-").FullName;
    private readonly ITestOutputHelper _output;
    private EtcdTls _tls = null!;
    private EtcdServer _etcd = null!;

    public AgentTlsTests(ITestOutputHelper output)
    {
        Require.Root();
        _output = output;
    }

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

    private Dictionary<string, string> Settings(string endpoints, string? ca, bool clientCertificate)
    {
        var settings = new Dictionary<string, string>
        {
            ["FELIX_ETCDENDPOINTS"] = endpoints,
            ["FELIX_FELIXHOSTNAME"] = Hostname,
            ["FELIX_IPTABLESBACKEND"] = "nft",
            // Each failed attempt is a debug line; the operator's warning comes once.
            ["FELIX_LOGSEVERITYSCREEN"] = "DEBUG",
        };
        if (ca is not null)
        {
            settings["FELIX_ETCDCAFILE"] = ca;
        }

        if (clientCertificate)
        {
            settings["FELIX_ETCDCERTFILE"] = _tls.ClientCertFile;
            settings["FELIX_ETCDKEYFILE"] = _tls.ClientKeyFile;
        }

        return settings;
    }

    [Fact]
    public async Task With_the_CA_and_a_client_certificate_the_agent_programs_and_enforces_a_workload()
    {
        await using var namespaces = new NetworkNamespaces();
        var hostAddress = IPAddress.Parse("10.99.0.1");
        var hostNs = await namespaces.CreateHostNamespaceAsync("host", hostAddress);
        var host = new ClusterHost(Hostname, 1, hostNs, hostAddress, IPAddress.Parse("fd99::1"));
        var db1 = new ClusterWorkload("db1", host, await namespaces.CreateWorkloadAsync(hostNs, IPAddress.Parse("192.168.0.1")), null);
        var app1 = new ClusterWorkload("app1", host, await namespaces.CreateWorkloadAsync(hostNs, IPAddress.Parse("192.168.0.2")), null);
        var model = new ArticleModel([host], [(db1, ArticleModel.Db), (app1, ArticleModel.App)]);
        await using var dbListener = Listener.Start(db1);
        await using var appListener = Listener.Start(app1);
        await PutAsync(model.Snapshot());

        // The agent runs in the host namespace, where the test etcd on root loopback is bridged in.
        await using var bridge = new LoopbackBridge(hostNs);
        bridge.ShareRootPort(_etcd.ClientPort);
        await using var agent = await AgentProcess.StartAsync(Settings(_etcd.ClientUrl, _tls.CaFile, clientCertificate: true), inside: hostNs);
        await agent.WaitForReadinessAsync(TimeSpan.FromSeconds(30));

        var save = (await hostNs.ExecCheckedAsync("iptables-nft-save", "-t", "filter")).StandardOutput;
        foreach (var workload in model.Workloads)
        {
            var suffix = workload.HostInterface["cali".Length..];
            Assert.Contains($":felix-to-{suffix} ", save, StringComparison.Ordinal);
            Assert.Contains($":felix-from-{suffix} ", save, StringComparison.Ordinal);
            Assert.Contains($"dev {workload.HostInterface}", await LiveArticleCluster.RoutesToAsync(host, workload.Ipv4Address), StringComparison.Ordinal);
        }

        // app1 carries db-users: db1 admits it on 3306 only; db1 may not reach app1 at all.
        var expected = model.Expected();
        Assert.True(expected.IsOpen(new Connection(app1.Name, db1.Name, 3306)));
        Assert.False(expected.IsOpen(new Connection(app1.Name, db1.Name, 22)));
        Assert.False(expected.IsOpen(new Connection(db1.Name, app1.Name, 80)));
        var matrix = await ConnectivityMatrix.WaitUntilMatchesAsync(expected, model.Workloads, AddressFamily.InterNetwork, settings: LiveArticleCluster.Probing);
        Assert.True(matrix.Matches(expected), $"{matrix.DescribeDifferences(expected)}\n{agent.Output()}");
        Assert.True(dbListener.AcceptedCount(3306, app1.Ipv4Address) >= 1);
        Assert.Equal(0, dbListener.AcceptedCount(22));
    }

    public static TheoryData<string> RefusedSetups => new() { "wrong CA", "no client certificate" };

    [Theory]
    [MemberData(nameof(RefusedSetups))]
    public async Task Refused_by_TLS_the_agent_names_endpoint_and_reason_retries_stays_live_unready_and_programs_nothing(string setup)
    {
        var wrongCa = setup == "wrong CA";
        // Something the agent would program, were it let in.
        await PutAsync([
            new("/calico/v1/Ready", "true"),
            new($"/calico/v1/host/{Hostname}/workload/docker/w1/endpoint/e1",
                """{"state":"active","name":"cali0000000e1","profile_ids":["db"],"ipv4_nets":["192.168.0.9/32"]}"""),
        ]);
        await using var namespaces = new NetworkNamespaces();
        var netns = await namespaces.CreateNamespaceAsync("agent");
        await using var bridge = new LoopbackBridge(netns);
        bridge.ShareRootPort(_etcd.ClientPort);
        var settings = Settings(_etcd.ClientUrl, wrongCa ? _tls.OtherCaFile : _tls.CaFile, clientCertificate: wrongCa);
        await using var agent = await AgentProcess.StartAsync(settings, inside: netns);
        await agent.WaitForLivenessAsync(Bound);

        var clock = Stopwatch.StartNew();
        await using (var liveness = LivenessWatch.Start(agent))
        {
            // Four attempts span the first backoff steps (0.5, 1, 2 s, jittered): time enough to have
            // programmed something, were anything getting through.
            while (Attempts(agent).Count < 4 && clock.Elapsed < Bound)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200));
            }

            var attempts = Attempts(agent);
            Assert.True(attempts.Count >= 2, $"{attempts.Count} retries logged within {Bound}\n{agent.Output()}");
            var gaps = attempts.Zip(attempts.Skip(1), (a, b) => (b - a).TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture));
            _output.WriteLine($"{setup}: {attempts.Count} failed attempts logged in {clock.Elapsed.TotalSeconds:F1} s, {string.Join(", ", gaps)} ms apart");

            var endpoint = _etcd.ClientUrl["https://".Length..];
            var reason = wrongCa ? $"is not signed by the CA in EtcdCaFile {_tls.OtherCaFile}" : "set EtcdCertFile and EtcdKeyFile";
            var warning = Assert.Single(agent.StandardOutput, line => line.Contains("Cannot reach etcd", StringComparison.Ordinal));
            Assert.Contains("[WARNING]", warning, StringComparison.Ordinal);
            Assert.Contains(endpoint, warning, StringComparison.Ordinal);
            Assert.Contains(reason, warning, StringComparison.Ordinal);
            _output.WriteLine(warning);

            var (status, body) = await ReadinessAsync(agent);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.True(body.Contains(reason, StringComparison.Ordinal), body);
            Assert.True(liveness.Failures.Count == 0, string.Join("; ", liveness.Failures));
        }

        var save = (await netns.ExecCheckedAsync("iptables-nft-save")).StandardOutput;
        Assert.DoesNotContain("felix-", save, StringComparison.Ordinal);
        Assert.Equal("", (await netns.IpCheckedAsync("-4", "route", "show", "proto", "80")).StandardOutput.Trim());
        Assert.DoesNotContain("felix-", (await netns.ExecCheckedAsync("ipset", "list", "-n")).StandardOutput, StringComparison.Ordinal);
    }

    public static TheoryData<bool> HttpsSetups => new() { true, false };

    [Theory]
    [MemberData(nameof(HttpsSetups))]
    public async Task An_https_endpoint_only_ever_receives_TLS_handshakes(bool withTlsFiles)
    {
        await using var recorder = new FirstBytesRecorder();
        var url = $"https://127.0.0.1:{recorder.Port}";
        await using var agent = await AgentProcess.StartAsync(Settings(url, withTlsFiles ? _tls.CaFile : null, clientCertificate: withTlsFiles));
        await agent.WaitForLivenessAsync(Bound);
        var clock = Stopwatch.StartNew();
        while (recorder.Connections.Count(c => c.Length > 0) < 3 && clock.Elapsed < Bound)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }

        var spoken = recorder.Connections.Where(c => c.Length > 0).ToList();
        Assert.True(spoken.Count >= 2, $"{spoken.Count} connections with data within {Bound}\n{agent.Output()}");
        foreach (var first in spoken)
        {
            // A TLS record of type handshake (22), protocol version 3.x: never "PRI * HTTP/2.0" nor "POST".
            Assert.True(first.Length >= 2 && first[0] == 0x16 && first[1] == 0x03, $"not a TLS handshake: {Convert.ToHexString(first)}");
        }

        _output.WriteLine($"{spoken.Count} connections in {clock.Elapsed.TotalSeconds:F1} s, each opening with {Convert.ToHexString(spoken[0][..5])}");
    }

    public static TheoryData<string> PlaintextSetups => new() { "CA", "CA and client certificate", "client certificate", "CA, one https and one http endpoint" };

    [Theory]
    [MemberData(nameof(PlaintextSetups))]
    public async Task TLS_files_with_a_plaintext_endpoint_stop_start_up_before_any_connection(string setup)
    {
        await using var recorder = new FirstBytesRecorder();
        var http = $"http://127.0.0.1:{recorder.Port}";
        var endpoints = setup.Contains("one https", StringComparison.Ordinal) ? $"https://127.0.0.1:{recorder.Port},{http}" : http;
        var settings = Settings(endpoints, setup.StartsWith("CA", StringComparison.Ordinal) ? _tls.CaFile : null,
            clientCertificate: setup.Contains("client certificate", StringComparison.Ordinal));
        await using var agent = await AgentProcess.StartAsync(settings);

        Assert.Equal(1, await agent.WaitForExitAsync(Bound));
        var error = Assert.Single(agent.StandardError, line => line.Contains("refusing to connect without TLS", StringComparison.Ordinal));
        Assert.Contains($"etcd endpoint {http} is not https", error, StringComparison.Ordinal);
        Assert.Contains("[CRITICAL]", error, StringComparison.Ordinal);
        Assert.Empty(recorder.Connections);
    }

    /// <summary>Writes through a client with the right CA and certificate, as an operator's tools would.</summary>
    private async Task PutAsync(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        using var connection = new EtcdConnection(new EtcdConnectionOptions([new Uri(_etcd.ClientUrl)], _tls.CaFile, _tls.ClientCertFile, _tls.ClientKeyFile));
        var store = new GrpcEtcdStore(connection);
        foreach (var (key, value) in pairs)
        {
            await store.PutAsync(key, value, 0, CancellationToken.None);
        }
    }

    /// <summary>When each failed attempt to reach etcd was logged, from the timestamps of the agent's debug lines.</summary>
    private static List<DateTime> Attempts(AgentProcess agent) =>
    [
        .. agent.StandardOutput
            .Where(line => line.Contains("etcd attempt", StringComparison.Ordinal) && line.Contains("failed", StringComparison.Ordinal))
            .Select(line => DateTime.ParseExact(line[..23], "yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture)),
    ];

    private static async Task<(HttpStatusCode? Status, string Body)> ReadinessAsync(AgentProcess agent)
    {
        using var http = AgentProcess.CreateHttpClient(TimeSpan.FromSeconds(2));
        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{agent.HealthPort}/readiness"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
