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
    [MemberData(nameof(RestoreLoader.BackendsAndFamilies), MemberType = typeof(RestoreLoader))]
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

    /// <summary>
    /// Someone else's rule jumps to a profile chain the agent then stops wanting. Deleting the chain
    /// would fail the whole batch, so it is flushed and kept; once their rule is gone, the next
    /// read-back finds it unreferenced and it is deleted.
    /// </summary>
    [Theory]
    [MemberData(nameof(RestoreLoader.BackendsAndFamilies), MemberType = typeof(RestoreLoader))]
    public async Task A_removed_chain_someone_else_jumps_to_is_kept_empty_until_they_let_go(IptablesBackend backend, IpVersion version)
    {
        await using var net = new NetworkNamespaces();
        var host = new IptablesHost(await net.CreateNamespaceAsync("letgo"), backend, version);
        var renderer = IptablesModel.Rendered(version, SmallModel);
        var (filter, _) = await ProgramAsync(host, renderer);
        var profile = $"p{IptablesModel.Profiles - 1}";
        var chain = PolicyNames.ProfileChain(profile, PolicyDirection.Inbound);
        await host.RunToolAsync("-N", "ADMIN");
        await host.RunToolAsync("-A", "ADMIN", "-j", chain);
        filter.Table.RequestReadBack();
        await filter.ApplyAsync();

        await ChurnAsync(host, renderer, filter, [new ProfileRemove(profile)], kept: [chain]);
        Assert.Equal([], (await host.SavedChainsAsync(TableName.Filter))[chain]);

        await host.RunToolAsync("-F", "ADMIN");
        filter.Table.RequestReadBack();
        await filter.ApplyAsync();
        Assert.False((await host.SavedChainsAsync(TableName.Filter)).ContainsKey(chain), $"{chain} outlived the last jump to it");
        await host.AssertProgrammedAsync(TableName.Filter, renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter));
    }

    private static bool IsDispatchBranch(Chain chain) =>
        chain.Name.StartsWith(PolicyNames.DispatchBranchChain(string.Empty, PolicyDirection.Inbound), StringComparison.Ordinal);

    /// <param name="kept">Chains no longer rendered that someone else still jumps to: expected empty, not gone.</param>
    private static async Task ChurnAsync(IptablesHost host, PolicyRenderer renderer, TableUnderTest filter, IEnumerable<DataplaneUpdate> updates,
        IReadOnlyList<string>? kept = null)
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
        var expected = renderer.Chains(TableName.Filter).Concat((kept ?? []).Select(name => new Chain(name, [])));
        await host.AssertProgrammedAsync(TableName.Filter, expected, PolicyRenderer.Hooks(TableName.Filter));
    }
}
