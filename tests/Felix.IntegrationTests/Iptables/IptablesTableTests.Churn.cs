using Felix.Agent.Calculation;
using Felix.Agent.Policy;
using Felix.Dataplane;
using Felix.Dataplane.Iptables;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Policy;

namespace Felix.IntegrationTests.Iptables;

public sealed partial class IptablesTableTests
{
    /// <summary>
    /// Endpoints come and go in bulk, as when a node fills up and drains: the dispatch chains grow
    /// past the threshold into a tree (branch chains declared and jumped to in the batch that
    /// creates them) and shrink back (branches flushed and deleted in the batch that stops jumping
    /// to them), endpoint chains are created and deleted, and a profile nobody uses any more goes.
    /// Each step is one apply of only what the renderer reports changed, which the kernel must
    /// accept, leaving exactly the rendered state.
    /// </summary>
    [Theory]
    [MemberData(nameof(BackendsAndFamilies))]
    public async Task Endpoints_added_and_removed_in_bulk_are_applied_in_batches_the_kernel_accepts(IptablesBackend backend, IpVersion version)
    {
        await using var net = new NetworkNamespaces();
        var host = new IptablesHost(await net.CreateNamespaceAsync("churn"), backend, version);
        var renderer = IptablesModel.Rendered(version, SmallModel);
        var (filter, _) = await ProgramAsync(host, renderer);
        const int grown = SmallModel + PolicyConfig.DefaultDispatchTreeThreshold + 8;

        await ChurnAsync(host, renderer, filter, Enumerable.Range(SmallModel, grown - SmallModel).Select(i => IptablesModel.Endpoint(i)));
        Assert.Contains(renderer.Chains(TableName.Filter), IsDispatchBranch);
        await ChurnAsync(host, renderer, filter, [IptablesModel.Endpoint(grown)]);
        await ChurnAsync(host, renderer, filter, [new EndpointRemove(IptablesModel.Endpoint(3).Key)]);
        await ChurnAsync(host, renderer, filter,
            Enumerable.Range(2, grown - 1).Select(i => new EndpointRemove(IptablesModel.Endpoint(i).Key)));
        Assert.DoesNotContain(renderer.Chains(TableName.Filter), IsDispatchBranch);
        await ChurnAsync(host, renderer, filter, [new ProfileRemove($"p{IptablesModel.Profiles - 1}")]);
    }

    private static bool IsDispatchBranch(Chain chain) =>
        chain.Name.StartsWith(PolicyNames.DispatchBranchChain(string.Empty, PolicyDirection.Inbound), StringComparison.Ordinal);

    private static async Task ChurnAsync(IptablesHost host, PolicyRenderer renderer, TableUnderTest filter, IEnumerable<DataplaneUpdate> updates)
    {
        foreach (var update in updates)
        {
            renderer.OnUpdate(update);
        }
        var changes = renderer.Render().Filter;
        Assert.False(changes.IsEmpty, "the updates changed no chain");
        foreach (var chain in changes.Updated)
        {
            filter.Table.SetChain(chain);
        }
        foreach (var name in changes.Removed)
        {
            filter.Table.RemoveChain(name);
        }
        var restores = filter.RestoreCalls;

        await filter.ApplyAsync();

        Assert.Equal((restores + 1, 0), (filter.RestoreCalls, filter.RestoreErrors));
        await host.AssertProgrammedAsync(TableName.Filter, renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter));
    }
}
