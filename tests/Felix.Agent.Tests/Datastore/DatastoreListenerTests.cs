using Felix.Agent.Datastore;
using Felix.Agent.Datastore.Etcd;
using Felix.Agent.Model;
using Microsoft.Extensions.Logging.Abstractions;
using NSubstitute;

namespace Felix.Agent.Tests.Datastore;

public class DatastoreListenerTests
{
    [Fact]
    public async Task A_local_endpoint_leaving_the_datastore_has_its_status_key_deleted()
    {
        var store = Substitute.For<IEtcdStore>();
        var deleted = new TaskCompletionSource<string>();
        store.DeleteAsync(Arg.Any<string>(), Arg.Any<CancellationToken>())
            .Returns(call =>
            {
                deleted.TrySetResult(call.Arg<string>());
                return Task.CompletedTask;
            });
        using var reporter = new EndpointStatusReporter(store, TimeProvider.System, NullLogger<EndpointStatusReporter>.Instance);
        var cleanup = new EndpointStatusCleanup(reporter, "node1");
        await reporter.StartAsync(CancellationToken.None);

        cleanup.OnUpdate(new WorkloadEndpointRemoved(new WorkloadEndpointKey("node2", "k8s", "other", "eth0")));
        cleanup.OnUpdate(new WorkloadEndpointRemoved(new WorkloadEndpointKey("node1", "k8s", "web", "eth0")));

        Assert.Equal("/calico/felix/v1/host/node1/workload/k8s/web/endpoint/eth0", await deleted.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await reporter.StopAsync(CancellationToken.None);
        await store.DidNotReceive().DeleteAsync(Arg.Is<string>(k => k.Contains("node2", StringComparison.Ordinal)), Arg.Any<CancellationToken>());
    }
}
