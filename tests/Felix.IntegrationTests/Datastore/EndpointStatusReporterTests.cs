using System.Text;
using Felix.Agent.Datastore;
using Felix.Agent.Datastore.Etcd;
using Felix.Agent.Model;
using Felix.IntegrationTests.Fixtures;
using Microsoft.Extensions.Logging.Abstractions;

namespace Felix.IntegrationTests.Datastore;

public sealed class EndpointStatusReporterTests : IClassFixture<EtcdFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly EtcdFixture _etcd;

    public EndpointStatusReporterTests(EtcdFixture etcd)
    {
        _etcd = etcd;
    }

    [Fact]
    public async Task Reports_the_latest_status_per_endpoint_and_removes_it_with_the_endpoint()
    {
        using var client = new AgentEtcd(_etcd.Server.ClientUrl);
        var store = client.Store;
        using var reporter = new EndpointStatusReporter(store, TimeProvider.System, NullLogger<EndpointStatusReporter>.Instance);
        var endpoint = new WorkloadEndpointKey("node1", "docker", "web-1", "eth0");
        var key = EndpointStatusReporter.StatusKey(endpoint);
        Assert.Equal("/calico/felix/v1/host/node1/workload/docker/web-1/endpoint/eth0", key);
        await reporter.StartAsync(CancellationToken.None);

        async Task<string?> ReadAsync()
        {
            var page = await store.RangeAsync(key, key + "\0", 0, 1, CancellationToken.None);
            return page.Items.Count == 0 ? null : Encoding.UTF8.GetString(page.Items[0].Value.Span);
        }

        reporter.Report(endpoint, EndpointStatus.Down);
        reporter.Report(endpoint, EndpointStatus.Up);
        Assert.True(await SyncHarness.EventuallyAsync(() => ReadAsync().GetAwaiter().GetResult() == """{"status":"up"}""", Bound));

        reporter.Remove(endpoint);
        Assert.True(await SyncHarness.EventuallyAsync(() => ReadAsync().GetAwaiter().GetResult() is null, Bound));
        await reporter.StopAsync(CancellationToken.None);
    }
}
