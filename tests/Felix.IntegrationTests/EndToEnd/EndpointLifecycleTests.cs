using System.Diagnostics;
using System.Net.Sockets;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.EndToEnd;

/// <summary>
/// Workload endpoints that come and go while both agents run. A container's veth and its etcd key
/// appear in either order: the CNI plugin may create the interface before it writes the key, or an
/// agent may see the key before the interface reaches the host (then only a link event tells it the
/// route can be programmed). Either way the endpoint gets its chains and route and is reachable as
/// its profile says; once its key is deleted, its chains and route go and nothing reaches it.
/// </summary>
[Collection(LiveArticleCluster.Collection)]
public sealed class EndpointLifecycleTests
{
    // Generous for a loaded machine; an agent applies within a few hundred milliseconds.
    private static readonly TimeSpan ProgramTimeout = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan PutTimeout = TimeSpan.FromSeconds(10);

    private readonly ITestOutputHelper _output;

    public EndpointLifecycleTests(ITestOutputHelper output)
    {
        Require.Root();
        _output = output;
    }

    [Fact]
    public async Task Endpoints_added_link_first_or_key_first_are_programmed_and_reachable_and_deleting_their_keys_undoes_it()
    {
        await using var live = await LiveArticleCluster.StartAsync(_output);
        var (cluster, host1, host2) = (live.Cluster, live.Host1, live.Host2);

        // (a) The interface first, then the key: a web endpoint on host1.
        var web3 = await cluster.AddWorkloadAsync(host1, "web3");
        cluster.Listen(web3);
        await cluster.AddBgpRouteAsync(host2, web3);
        await ArticleWriter.PutAllAsync(live.Etcd, [new(ArticleModel.EndpointKey(web3), ArticleModel.EndpointJson(web3, ArticleModel.Web))]);
        live.Log($"(a) {web3.HostInterface} on host1, then its key");

        // (b) The key first, then the interface: a db endpoint on host2 whose host-side veth waits in
        // the container's namespace (where the CNI plugin creates the pair) until the key is in.
        var db2 = await cluster.AddWorkloadAsync(host2, "db2");
        await host2.Namespace.IpCheckedAsync("link", "set", db2.HostInterface, "netns", db2.Namespace.Name);
        cluster.Listen(db2);
        await cluster.AddBgpRouteAsync(host1, db2);
        await ArticleWriter.PutAllAsync(live.Etcd, [new(ArticleModel.EndpointKey(db2), ArticleModel.EndpointJson(db2, ArticleModel.Db))]);
        // The agent has taken the key in once the endpoint's chain exists; only then may the link come.
        await live.WaitForAsync(() => HasChainsAsync(db2, AddressFamily.InterNetwork), ProgramTimeout,
            $"host2's agent programming the chains of {db2.HostInterface} before its interface exists");
        foreach (var family in LiveArticleCluster.Families)
        {
            Assert.Equal(string.Empty, await LiveArticleCluster.RoutesToAsync(host2, db2.AddressOf(family)));
        }

        await db2.Namespace.IpCheckedAsync("link", "set", db2.HostInterface, "netns", host2.Namespace.Name);
        await host2.Namespace.IpCheckedAsync("link", "set", db2.HostInterface, "up");
        var linkUp = Stopwatch.StartNew();
        foreach (var family in LiveArticleCluster.Families)
        {
            await live.WaitForAsync(
                async () => (await LiveArticleCluster.RoutesToAsync(host2, db2.AddressOf(family))).Contains(db2.HostInterface, StringComparison.Ordinal),
                ProgramTimeout, $"host2's agent routing {db2.AddressOf(family)} once {db2.HostInterface} appeared");
            live.Log($"(b) {db2.HostInterface} moved into host2 and up after its key: {db2.AddressOf(family)} routed {linkUp.ElapsedMilliseconds} ms later");
        }

        foreach (var workload in new[] { web3, db2 })
        {
            var took = await live.WaitForAsync(() => IsProgrammedAsync(workload), ProgramTimeout,
                $"{workload.Name}'s chains and routes (both families) in {workload.Host.Name}");
            live.Log($"{workload.Name}: chains and routes in {workload.Host.Name} after {took.TotalMilliseconds:F0} ms more");
            foreach (var family in LiveArticleCluster.Families)
            {
                Assert.Contains($"dev {workload.HostInterface}", await LiveArticleCluster.RoutesToAsync(workload.Host, workload.AddressOf(family)), StringComparison.Ordinal);
            }
        }

        var model = live.Model;
        var grown = new ArticleModel(cluster.Hosts,
            [.. model.Workloads.Select(w => (w, model.ProfileOf(w))), (web3, ArticleModel.Web), (db2, ArticleModel.Db)]);
        var expected = grown.Expected();
        // Both newcomers must be reachable somewhere and closed somewhere, or the matrix below proves little.
        foreach (var name in new[] { web3.Name, db2.Name })
        {
            Assert.Contains(expected.Cells, cell => cell.To == name && expected.IsOpen(cell));
            Assert.Contains(expected.Cells, cell => cell.To == name && !expected.IsOpen(cell));
        }

        await live.AssertMatrixAsync(expected, grown.Workloads, "the matrix with web3 and db2 added");

        foreach (var workload in new[] { web3, db2 })
        {
            await live.Etcd.DeleteAsync(ArticleModel.EndpointKey(workload), deadline: DateTime.UtcNow + PutTimeout);
        }

        foreach (var workload in new[] { web3, db2 })
        {
            var took = await live.WaitForAsync(async () => await IsGoneAsync(workload), ProgramTimeout,
                $"{workload.Name}'s chains and routes removed from {workload.Host.Name}");
            live.Log($"{workload.Name}: chains and routes gone from {workload.Host.Name} {took.TotalMilliseconds:F0} ms after the deletes");
        }

        var removed = new HashSet<string>([web3.Name, db2.Name], StringComparer.Ordinal);
        var afterRemoval = expected.With(cell => removed.Contains(cell.To) || removed.Contains(cell.From) ? false : null);
        await live.AssertMatrixAsync(afterRemoval, grown.Workloads, "the matrix with web3's and db2's keys deleted");
    }

    private static string Suffix(ClusterWorkload workload) => workload.HostInterface["cali".Length..];

    private static async Task<bool> HasChainsAsync(ClusterWorkload workload, AddressFamily family) =>
        await LiveArticleCluster.HasChainAsync(workload.Host, family, $"felix-to-{Suffix(workload)}")
        && await LiveArticleCluster.HasChainAsync(workload.Host, family, $"felix-from-{Suffix(workload)}");

    private static async Task<bool> IsProgrammedAsync(ClusterWorkload workload)
    {
        foreach (var family in LiveArticleCluster.Families)
        {
            if (!await HasChainsAsync(workload, family)
                || !(await LiveArticleCluster.RoutesToAsync(workload.Host, workload.AddressOf(family))).Contains(workload.HostInterface, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task<bool> IsGoneAsync(ClusterWorkload workload)
    {
        foreach (var family in LiveArticleCluster.Families)
        {
            var suffix = Suffix(workload);
            if (await LiveArticleCluster.HasChainAsync(workload.Host, family, $"felix-to-{suffix}")
                || await LiveArticleCluster.HasChainAsync(workload.Host, family, $"felix-from-{suffix}")
                || (await LiveArticleCluster.SaveFilterTableAsync(workload.Host, family)).Contains(workload.HostInterface, StringComparison.Ordinal)
                || await LiveArticleCluster.RoutesToAsync(workload.Host, workload.AddressOf(family)) != string.Empty)
            {
                return false;
            }
        }

        return true;
    }
}
