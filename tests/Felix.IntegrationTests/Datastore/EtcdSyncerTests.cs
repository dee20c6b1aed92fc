using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Datastore;

/// <summary>The datastore sync against a real etcd: ordering, compaction, outages, Ready.</summary>
public sealed class EtcdSyncerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private const string Rules = """{"inbound_rules":[{"action":"allow","src_tag":"db"}],"outbound_rules":[{"action":"allow"}]}""";

    [Fact]
    public async Task Snapshot_then_watch_delivers_every_put_and_delete_once_in_revision_order()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var sync = new SyncHarness(etcd.ClientUrl);
        await sync.PutAsync("/calico/v1/Ready", "true");
        await sync.PutAsync(SyncHarness.EndpointKey("ep1"), SyncHarness.Endpoint("cali0000000001", "10.65.0.1"));
        await sync.PutAsync("/calico/v1/policy/profile/db/rules", Rules);

        await sync.StartAsync();
        Assert.True(await SyncHarness.EventuallyAsync(() => sync.Received.Count >= 3, Bound));
        Assert.Equal(["set endpoint ep1", "set rules db", "in sync"], sync.Describe());
        // Health is reported just after the updates are handed over.
        Assert.True(await SyncHarness.EventuallyAsync(() => sync.Health.Snapshot().Ready, Bound));

        await sync.PutAsync(SyncHarness.EndpointKey("ep2"), SyncHarness.Endpoint("cali0000000002", "10.65.0.2"));
        await sync.DeleteAsync(SyncHarness.EndpointKey("ep1"));
        await sync.PutAsync("/calico/v1/policy/profile/db/tags", """["db","db-users"]""");
        await sync.PutAsync(SyncHarness.EndpointKey("ep2"), SyncHarness.Endpoint("cali0000000002", "10.65.0.3"));
        // Same value again: etcd makes a new revision, but nothing changed for the agent.
        await sync.PutAsync("/calico/v1/policy/profile/db/rules", Rules);

        Assert.True(await SyncHarness.EventuallyAsync(() => sync.Received.Count >= 7, Bound));
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.Equal(["set endpoint ep2", "remove endpoint ep1", "set tags db", "set endpoint ep2"], sync.Describe(skip: 3));
    }

    [Fact]
    public async Task A_watch_behind_a_compaction_resyncs_and_delivers_the_true_difference()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        GatedWatchStore? gate = null;
        await using var sync = new SyncHarness(etcd.ClientUrl, inner => gate = new GatedWatchStore(inner));
        await sync.PutAsync("/calico/v1/Ready", "true");
        await sync.PutAsync(SyncHarness.EndpointKey("keep"), SyncHarness.Endpoint("cali0000000001", "10.65.0.1"));
        await sync.PutAsync(SyncHarness.EndpointKey("gone"), SyncHarness.Endpoint("cali0000000002", "10.65.0.2"));
        await sync.PutAsync(SyncHarness.EndpointKey("edit"), SyncHarness.Endpoint("cali0000000003", "10.65.0.3"));

        await sync.StartAsync();
        await gate!.WatchRequested.Task.WaitAsync(Bound);
        Assert.True(await SyncHarness.EventuallyAsync(() => sync.Received.Count >= 4, Bound));

        await sync.DeleteAsync(SyncHarness.EndpointKey("gone"));
        await sync.PutAsync(SyncHarness.EndpointKey("edit"), SyncHarness.Endpoint("cali0000000003", "10.65.0.33"));
        await sync.PutAsync(SyncHarness.EndpointKey("new"), SyncHarness.Endpoint("cali0000000004", "10.65.0.4"));
        await sync.PutAsync(SyncHarness.EndpointKey("edit"), SyncHarness.Endpoint("cali0000000003", "10.65.0.34"));
        using (var client = etcd.CreateClient())
        {
            var latest = (await sync.Store.RangeAsync("/", "0", 0, 1, CancellationToken.None)).Revision;
            await client.CompactAsync(new Etcdserverpb.CompactionRequest { Revision = latest, Physical = true });
        }
        gate.Release();

        Assert.True(await SyncHarness.EventuallyAsync(() => sync.Received.Count >= 7, Bound));
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.Equal(["set endpoint edit", "remove endpoint gone", "set endpoint new"], sync.Describe(skip: 4));
        Assert.Contains("felix_resyncs_started 2", await MetricsAsync(sync), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_etcd_outage_turns_readiness_off_then_catches_up_without_duplicates()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var sync = new SyncHarness(etcd.ClientUrl);
        await sync.PutAsync("/calico/v1/Ready", "true");
        await sync.PutAsync(SyncHarness.EndpointKey("ep1"), SyncHarness.Endpoint("cali0000000001", "10.65.0.1"));
        await sync.PutAsync(SyncHarness.EndpointKey("ep2"), SyncHarness.Endpoint("cali0000000002", "10.65.0.2"));
        await sync.StartAsync();
        Assert.True(await SyncHarness.EventuallyAsync(() => sync.Health.Snapshot().Ready, Bound));

        await etcd.KillAsync();
        Assert.True(await SyncHarness.EventuallyAsync(() => !sync.Health.Snapshot().Ready, Bound), sync.Log.ToString());
        Assert.True(sync.Health.Snapshot().Live);
        await Task.Delay(TimeSpan.FromSeconds(10));
        await etcd.StartAsync();
        await sync.DeleteAsync(SyncHarness.EndpointKey("ep1"));
        await sync.PutAsync(SyncHarness.EndpointKey("ep3"), SyncHarness.Endpoint("cali0000000003", "10.65.0.3"));

        Assert.True(await SyncHarness.EventuallyAsync(() => sync.Received.Count >= 5 && sync.Health.Snapshot().Ready, Bound), sync.Log.ToString());
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.Equal(["set endpoint ep1", "set endpoint ep2", "in sync", "remove endpoint ep1", "set endpoint ep3"], sync.Describe());
    }

    [Fact]
    public async Task Nothing_is_delivered_until_Ready_is_true_and_delivery_pauses_while_it_is_false()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var sync = new SyncHarness(etcd.ClientUrl);
        await sync.PutAsync(SyncHarness.EndpointKey("ep1"), SyncHarness.Endpoint("cali0000000001", "10.65.0.1"));
        await sync.StartAsync();
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.Empty(sync.Received);
        Assert.False(sync.Health.Snapshot().Ready);

        await sync.PutAsync("/calico/v1/Ready", "true");
        Assert.True(await SyncHarness.EventuallyAsync(() => sync.Received.Count >= 2, Bound));

        await sync.PutAsync("/calico/v1/Ready", "false");
        Assert.True(await SyncHarness.EventuallyAsync(() => !sync.Health.Snapshot().Ready, Bound));
        await sync.DeleteAsync(SyncHarness.EndpointKey("ep1"));
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.Equal(2, sync.Received.Count);

        await sync.PutAsync("/calico/v1/Ready", "true");
        Assert.True(await SyncHarness.EventuallyAsync(() => sync.Received.Count >= 4, Bound));
        Assert.Equal(["set endpoint ep1", "in sync", "remove endpoint ep1", "in sync"], sync.Describe());
    }

    [Fact]
    public async Task Invalid_values_are_counted_and_treated_as_absent()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var sync = new SyncHarness(etcd.ClientUrl);
        await sync.PutAsync("/calico/v1/Ready", "true");
        await sync.PutAsync(SyncHarness.EndpointKey("ep1"), SyncHarness.Endpoint("cali0000000001", "10.65.0.1"));
        await sync.StartAsync();
        Assert.True(await SyncHarness.EventuallyAsync(() => sync.Received.Count >= 2, Bound));

        await sync.PutAsync(SyncHarness.EndpointKey("ep1"), SyncHarness.Endpoint("cali0000000001", "300.1.2.3"));
        await sync.PutAsync("/calico/v1/policy/profile/db/rules", "{not json");

        // Both puts are processed once both rejections are counted (they arrive in revision order).
        string[] expected =
        [
            "felix_datastore_invalid_keys{kind=\"endpoint\"} 1",
            "felix_datastore_invalid_keys{kind=\"profile_rules\"} 1",
            "felix_cluster_num_workload_endpoints 0",
        ];
        var metrics = "";
        Assert.True(await SyncHarness.EventuallyAsync(() =>
        {
            metrics = MetricsAsync(sync).GetAwaiter().GetResult();
            return expected.All(e => metrics.Contains(e, StringComparison.Ordinal));
        }, Bound), metrics);
        Assert.Equal(["set endpoint ep1", "in sync", "remove endpoint ep1"], sync.Describe());
    }

    private static async Task<string> MetricsAsync(SyncHarness sync)
    {
        using var stream = new MemoryStream();
        await sync.Registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
