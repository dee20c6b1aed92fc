using System.Text;
using Felix.Agent.Datastore.Etcd;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Datastore;

/// <summary>The gRPC store against a real etcd: what the syncer relies on, case by case.</summary>
public sealed class GrpcEtcdStoreTests : IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly EtcdFixture _etcd;

    public GrpcEtcdStoreTests(EtcdFixture etcd)
    {
        _etcd = etcd;
    }

    private static string Unique() => $"/test-{Guid.NewGuid():N}/";

    [Fact]
    public async Task A_range_is_read_in_pages_all_at_one_revision()
    {
        using var client = new AgentEtcd(_etcd.Server.ClientUrl);
        var store = client.Store;
        var prefix = Unique();
        for (var i = 0; i < 25; i++)
        {
            await store.PutAsync($"{prefix}{i:D3}", $"v{i}", 0, CancellationToken.None);
        }

        var first = await store.RangeAsync(prefix, EtcdKeys.PrefixEnd(prefix), 0, 10, CancellationToken.None);
        await store.PutAsync($"{prefix}999", "written after the first page", 0, CancellationToken.None);
        var keys = first.Items.Select(i => i.Key).ToList();
        var page = first;
        while (page.More)
        {
            page = await store.RangeAsync(page.Items[^1].Key + "\0", EtcdKeys.PrefixEnd(prefix), first.Revision, 10, CancellationToken.None);
            keys.AddRange(page.Items.Select(i => i.Key));
        }

        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"{prefix}{i:D3}"), keys);
        Assert.Equal("v0", Encoding.UTF8.GetString(first.Items[0].Value.Span));
    }

    [Fact]
    public async Task A_watch_delivers_puts_and_deletes_in_revision_order()
    {
        using var client = new AgentEtcd(_etcd.Server.ClientUrl);
        var store = client.Store;
        var prefix = Unique();
        var start = (await store.RangeAsync(prefix, EtcdKeys.PrefixEnd(prefix), 0, 1, CancellationToken.None)).Revision;
        await store.PutAsync(prefix + "a", "1", 0, CancellationToken.None);
        await store.PutAsync(prefix + "b", "2", 0, CancellationToken.None);
        await store.DeleteAsync(prefix + "a", CancellationToken.None);
        await store.PutAsync("/elsewhere/x", "not under the prefix", 0, CancellationToken.None);
        await store.PutAsync(prefix + "b", "3", 0, CancellationToken.None);

        using var timeout = new CancellationTokenSource(Bound);
        var seen = new List<string>();
        await foreach (var batch in store.WatchAsync(prefix, start + 1, timeout.Token))
        {
            seen.AddRange(batch.Events.Select(e => $"{e.Key[prefix.Length..]}={(e.Value is { } v ? Encoding.UTF8.GetString(v.Span) : "<deleted>")}"));
            if (seen.Count >= 4)
            {
                break;
            }
        }

        Assert.Equal(["a=1", "b=2", "a=<deleted>", "b=3"], seen);
    }

    [Fact]
    public async Task A_watch_from_a_compacted_revision_reports_compaction()
    {
        using var client = new AgentEtcd(_etcd.Server.ClientUrl);
        var store = client.Store;
        var prefix = Unique();
        var start = (await store.RangeAsync(prefix, EtcdKeys.PrefixEnd(prefix), 0, 1, CancellationToken.None)).Revision;
        await store.PutAsync(prefix + "a", "1", 0, CancellationToken.None);
        await store.PutAsync(prefix + "a", "2", 0, CancellationToken.None);
        using (var etcdClient = _etcd.Server.CreateClient())
        {
            var latest = (await store.RangeAsync(prefix, EtcdKeys.PrefixEnd(prefix), 0, 1, CancellationToken.None)).Revision;
            await etcdClient.CompactAsync(new Etcdserverpb.CompactionRequest { Revision = latest, Physical = true });
        }

        using var timeout = new CancellationTokenSource(Bound);
        var error = await Assert.ThrowsAsync<WatchCompactedException>(async () =>
        {
            await foreach (var batch in store.WatchAsync(prefix, start + 1, timeout.Token))
            {
                Assert.Fail($"unexpected batch at {batch.Revision}");
            }
        });
        Assert.True(error.CompactRevision > start);
    }

    [Fact]
    public async Task A_lease_keeps_a_key_alive_and_its_expiry_removes_it()
    {
        using var client = new AgentEtcd(_etcd.Server.ClientUrl);
        var store = client.Store;
        var key = Unique() + "status";
        var lease = await store.GrantLeaseAsync(TimeSpan.FromSeconds(2), CancellationToken.None);
        await store.PutAsync(key, "up", lease, CancellationToken.None);

        Assert.True(await store.KeepLeaseAliveAsync(lease, CancellationToken.None));
        var present = await store.RangeAsync(key, key + "\0", 0, 1, CancellationToken.None);
        Assert.Single(present.Items);

        // Let it lapse: etcd expires a 2 s lease within a few seconds. Bounded poll.
        var gone = false;
        for (var i = 0; i < 100 && !gone; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100));
            gone = (await store.RangeAsync(key, key + "\0", 0, 1, CancellationToken.None)).Items.Count == 0;
        }
        Assert.True(gone);
        Assert.False(await store.KeepLeaseAliveAsync(lease, CancellationToken.None));
    }

    [Fact]
    public async Task An_unreachable_etcd_is_a_datastore_unavailable_error_naming_the_endpoint()
    {
        await using var server = await EtcdServer.StartNewAsync();
        using var agentClient = new AgentEtcd(server.ClientUrl);
        var store = agentClient.Store;
        await store.PutAsync("/k", "v", 0, CancellationToken.None);
        await server.KillAsync();

        var error = await Assert.ThrowsAsync<DatastoreUnavailableException>(() =>
            store.RangeAsync("/", "0", 0, 1, CancellationToken.None));
        Assert.Contains($"127.0.0.1:{server.ClientPort}", error.Message, StringComparison.Ordinal);

        await server.StartAsync();
        var recovered = false;
        for (var i = 0; i < 40 && !recovered; i++)
        {
            try
            {
                recovered = (await store.RangeAsync("/k", "/k\0", 0, 1, CancellationToken.None)).Items.Count == 1;
            }
            catch (DatastoreUnavailableException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250));
            }
        }
        Assert.True(recovered);
    }
}
