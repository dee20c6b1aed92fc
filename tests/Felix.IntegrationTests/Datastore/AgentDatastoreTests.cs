using Felix.Agent.Datastore.Etcd;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Datastore;

/// <summary>The published agent against a real etcd: what an operator sees of the datastore.</summary>
public sealed class AgentDatastoreTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static Dictionary<string, string> AgentEnvironment(EtcdServer etcd, string host) => new()
    {
        ["FELIX_ETCDENDPOINTS"] = etcd.ClientUrl,
        ["FELIX_FELIXHOSTNAME"] = host,
        ["FELIX_REPORTINGINTERVALSECS"] = "1",
        ["FELIX_REPORTINGTTLSECS"] = "3",
    };

    private static async Task<bool> KeyExistsAsync(GrpcEtcdStore store, string key)
    {
        try
        {
            return (await store.RangeAsync(key, key + "\0", 0, 1, CancellationToken.None)).Items.Count == 1;
        }
        catch (DatastoreUnavailableException)
        {
            return false;
        }
    }

    // Tolerant: /metrics starts a moment after /liveness, and polls simply try again.
    private static async Task<string> MetricsAsync(AgentProcess agent)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            return await http.GetStringAsync(new Uri($"http://127.0.0.1:{agent.MetricsPort}/metrics"));
        }
        catch (Exception e) when (AgentProcess.IsNotAnsweringYet(e))
        {
            return "";
        }
    }

    [Fact]
    public async Task Cluster_gauges_count_what_etcd_holds_and_an_invalid_key_is_one_warning_and_a_count()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        using var client = new AgentEtcd(etcd.ClientUrl);
        var store = client.Store;
        await store.PutAsync("/calico/v1/Ready", "true", 0, CancellationToken.None);
        await store.PutAsync(SyncHarness.EndpointKey("ep1", "node1"), SyncHarness.Endpoint("cali0000000001", "10.65.0.1"), 0, CancellationToken.None);
        await store.PutAsync(SyncHarness.EndpointKey("ep2", "node1"), SyncHarness.Endpoint("cali0000000002", "10.65.0.2"), 0, CancellationToken.None);
        await store.PutAsync(SyncHarness.EndpointKey("ep3", "node2"), SyncHarness.Endpoint("cali0000000003", "10.65.0.3"), 0, CancellationToken.None);
        await store.PutAsync("/calico/v1/policy/profile/db/rules", """{"inbound_rules":[{"action":"allow","src_tag":"web"}],"outbound_rules":[]}""", 0, CancellationToken.None);
        await store.PutAsync("/calico/v1/policy/profile/web/tags", """["web"]""", 0, CancellationToken.None);
        await store.PutAsync(SyncHarness.EndpointKey("bad", "node2"), """{"state":"active","name":"cali $(reboot)"}""", 0, CancellationToken.None);

        await using var agent = await AgentProcess.StartAsync(AgentEnvironment(etcd, "node1"));
        await agent.WaitForLivenessAsync(Bound);

        var expected = new[]
        {
            "felix_cluster_num_hosts 2", "felix_cluster_num_workload_endpoints 3", "felix_cluster_num_profiles 2",
            "felix_datastore_invalid_keys{kind=\"endpoint\"} 1", "felix_ready 1",
            // The calculation: node1's two endpoints use profile db, whose rule names tag web.
            "felix_active_local_endpoints 2", "felix_active_local_profiles 1", "felix_active_local_tags 1",
            "# TYPE felix_calc_graph_update_time_seconds histogram",
        };
        string metrics = "";
        Assert.True(await SyncHarness.EventuallyAsync(() =>
        {
            metrics = MetricsAsync(agent).GetAwaiter().GetResult();
            return expected.All(e => metrics.Contains(e, StringComparison.Ordinal));
        }, Bound), metrics + agent.Output());
        var warning = Assert.Single(agent.StandardOutput, l => l.Contains("/workload/docker/bad-workload/", StringComparison.Ordinal));
        Assert.Contains("[WARNING]", warning, StringComparison.Ordinal);

        // A stop in the middle of a live watch is clean: exit 0, nothing logged as a failure.
        await agent.SignalAsync("TERM");
        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(5)));
        Assert.DoesNotContain(agent.StandardOutput, l => l.Contains("[ERROR]", StringComparison.Ordinal) || l.Contains("[CRITICAL]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_status_key_lives_under_a_lease_survives_an_etcd_restart_and_expires_when_the_agent_dies()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        using var client = new AgentEtcd(etcd.ClientUrl);
        var store = client.Store;
        const string status = "/calico/felix/v1/host/node9/status";
        const string last = "/calico/felix/v1/host/node9/last_reported_status";

        await using var agent = await AgentProcess.StartAsync(AgentEnvironment(etcd, "node9"));
        Assert.True(await SyncHarness.EventuallyAsync(() => KeyExistsAsync(store, status).GetAwaiter().GetResult(), Bound), agent.Output());

        await etcd.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(4));
        await etcd.StartAsync();
        await SyncHarness.RetryAsync(() => store.DeleteAsync(status, CancellationToken.None));
        Assert.True(await SyncHarness.EventuallyAsync(() => KeyExistsAsync(store, status).GetAwaiter().GetResult(), Bound), agent.Output());

        await agent.SignalAsync("KILL");
        await agent.WaitForExitAsync(Bound);
        Assert.True(await SyncHarness.EventuallyAsync(() => !KeyExistsAsync(store, status).GetAwaiter().GetResult(), Bound));
        Assert.True(await KeyExistsAsync(store, last));
    }

    [Fact]
    public async Task A_config_change_in_etcd_that_needs_a_restart_exits_129_naming_it()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        using var client = new AgentEtcd(etcd.ClientUrl);
        var store = client.Store;
        await store.PutAsync("/calico/v1/Ready", "true", 0, CancellationToken.None);
        await store.PutAsync("/calico/v1/config/MetadataPort", "9000", 0, CancellationToken.None);
        await store.PutAsync("/calico/v1/config/MaxIpsetSize", "lots", 0, CancellationToken.None);

        await using var agent = await AgentProcess.StartAsync(AgentEnvironment(etcd, "node1"));
        await agent.WaitForLivenessAsync(Bound);
        Assert.True(await SyncHarness.EventuallyAsync(
            () => agent.StandardOutput.Any(l => l.Contains("In sync with etcd", StringComparison.Ordinal)), Bound), agent.Output());
        Assert.Contains(agent.StandardOutput, l => l.Contains("MetadataPort set by etcd /calico/v1/config/MetadataPort", StringComparison.Ordinal));

        var invalid = Assert.Single(agent.StandardOutput, l => l.Contains("invalid value for MaxIpsetSize", StringComparison.Ordinal));
        Assert.Contains("[WARNING]", invalid, StringComparison.Ordinal);
        Assert.Contains("felix_datastore_invalid_keys{kind=\"config\"} 1", await MetricsAsync(agent), StringComparison.Ordinal);

        // Live: the log level changes without a restart.
        await store.PutAsync("/calico/v1/host/node1/config/LogSeverityScreen", "DEBUG", 0, CancellationToken.None);
        Assert.True(await SyncHarness.EventuallyAsync(
            () => agent.StandardOutput.Any(l => l.Contains("LogSeverityScreen changed", StringComparison.Ordinal)), Bound), agent.Output());

        await store.PutAsync("/calico/v1/config/MetadataPort", "9001", 0, CancellationToken.None);
        Assert.Equal(129, await agent.WaitForExitAsync(Bound));
        Assert.Contains(agent.StandardOutput, l => l.Contains("MetadataPort changed from 9000 to 9001", StringComparison.Ordinal));
    }
}
