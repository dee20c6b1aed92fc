using Felix.Agent.Policy;
using Felix.Dataplane;
using Felix.Dataplane.Iptables;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Policy;

namespace Felix.IntegrationTests.Iptables;

/// <summary>
/// <see cref="IptablesTable"/> against the real tools and kernel, each test in a namespace of its
/// own, for each backend and family: the rendered policy is programmed exactly, a restarted agent
/// finds nothing to write, drift made by hand is repaired after a read-back, and someone else's
/// chains and rules (with their counters) come through all of it byte for byte.
/// </summary>
public sealed partial class IptablesTableTests
{
    /// <summary>Enough endpoints for two profiles per endpoint and every kind of chain, few enough to stay quick.</summary>
    private const int SmallModel = 6;

    [Theory]
    [MemberData(nameof(RestoreLoader.BackendsAndFamilies), MemberType = typeof(RestoreLoader))]
    public async Task The_rendered_chains_and_hooks_are_programmed_exactly_in_one_restore_per_table(IptablesBackend backend, IpVersion version)
    {
        await using var net = new NetworkNamespaces();
        var host = new IptablesHost(await net.CreateNamespaceAsync("prog"), backend, version);
        await host.AddForeignStateAsync();
        var foreign = await host.ForeignLinesAsync();
        var renderer = IptablesModel.Rendered(version, SmallModel);

        var (filter, nat) = await ProgramAsync(host, renderer);

        await AssertProgrammedAsync(host, renderer);
        Assert.Equal((1, 1), (filter.RestoreCalls, nat.RestoreCalls));
        Assert.Equal((0, 0), (filter.RestoreErrors, nat.RestoreErrors));
        Assert.Equal(foreign, await host.ForeignLinesAsync());
    }

    [Theory]
    [MemberData(nameof(RestoreLoader.BackendsAndFamilies), MemberType = typeof(RestoreLoader))]
    public async Task A_restarted_agent_over_the_programmed_namespace_writes_nothing(IptablesBackend backend, IpVersion version)
    {
        await using var net = new NetworkNamespaces();
        var host = new IptablesHost(await net.CreateNamespaceAsync("restart"), backend, version);
        await host.AddForeignStateAsync();
        var renderer = IptablesModel.Rendered(version, SmallModel);
        await ProgramAsync(host, renderer);
        var programmed = await host.ForeignLinesAsync();

        var (filter, nat) = (host.NewTable(TableName.Filter), host.NewTable(TableName.Nat));
        filter.SetAll(renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter));
        nat.SetAll(renderer.Chains(TableName.Nat), PolicyRenderer.Hooks(TableName.Nat));
        await filter.ApplyAsync();
        await nat.ApplyAsync();

        Assert.Equal((0, 0), (filter.RestoreCalls, nat.RestoreCalls));
        Assert.Equal((0, 0), (filter.LinesExecuted, nat.LinesExecuted));
        Assert.Equal((1, 1), (filter.SaveCalls, nat.SaveCalls));
        Assert.Equal(programmed, await host.ForeignLinesAsync());
        await AssertProgrammedAsync(host, renderer);
    }

    [Theory]
    [MemberData(nameof(RestoreLoader.BackendsAndFamilies), MemberType = typeof(RestoreLoader))]
    public async Task Drift_made_by_hand_is_repaired_after_a_read_back_and_foreign_state_survives_it(IptablesBackend backend, IpVersion version)
    {
        await using var net = new NetworkNamespaces();
        var host = new IptablesHost(await net.CreateNamespaceAsync("drift"), backend, version);
        await host.AddForeignStateAsync();
        var foreign = await host.ForeignLinesAsync();
        var renderer = IptablesModel.Rendered(version, SmallModel);
        var (filter, nat) = await ProgramAsync(host, renderer);
        var toChain = PolicyNames.EndpointChain(
            PolicyNames.EndpointSuffix(IptablesModel.InterfaceName(1), IptablesModel.Config.InterfacePrefix), PolicyDirection.Inbound);
        var toRules = renderer.Chains(TableName.Filter).Single(c => c.Name == toChain).Rules.Length;
        var hook = PolicyRenderer.Hooks(TableName.Filter).Single(h => h.BuiltinChain == "FORWARD").Rule.Hash;
        Assert.Equal(hook, RuleHash.Find((await host.SavedChainsAsync(TableName.Filter))["FORWARD"][0]));

        await RepairAsync(host, renderer, filter, ["-D", PolicyNames.ForwardChain, "1"], expectedLines: 1);
        await RepairAsync(host, renderer, filter, ["-F", toChain], expectedLines: toRules);
        await RepairAsync(host, renderer, filter, ["-D", "FORWARD", "1"], expectedLines: 1);
        await RepairAsync(host, renderer, nat, ["-t", "nat", "-F", PolicyNames.PostroutingChain],
            expectedLines: renderer.Chains(TableName.Nat).Single().Rules.Length);

        Assert.Equal(foreign, await host.ForeignLinesAsync());
    }

    /// <summary>
    /// The administrator reloads their firewall with a plain <c>restore</c> (no <c>--noflush</c>):
    /// every felix chain and hook is gone, and Docker then puts its jump on top of FORWARD. One
    /// read-back per table finds nothing of ours and the apply writes everything again, hooks above
    /// Docker's jump, leaving the reloaded rules as they were. When Docker restarts and puts its
    /// jump on top once more, only our hook moves back above it.
    /// </summary>
    [Theory]
    [MemberData(nameof(RestoreLoader.BackendsAndFamilies), MemberType = typeof(RestoreLoader))]
    public async Task A_firewall_reload_that_wipes_the_tables_is_repaired_in_full(IptablesBackend backend, IpVersion version)
    {
        await using var net = new NetworkNamespaces();
        var host = new IptablesHost(await net.CreateNamespaceAsync("reload"), backend, version);
        await host.AddForeignStateAsync();
        var admin = (await host.Netns.ExecCheckedAsync(RestoreLoader.SaveTool(backend, version), "-c")).StandardOutput;
        var renderer = IptablesModel.Rendered(version, SmallModel);
        var (filter, nat) = await ProgramAsync(host, renderer);

        (await host.Netns.ExecWithInputAsync(admin, RestoreLoader.RestoreTool(backend, version), "--counters")).EnsureSuccess();
        await host.RunToolAsync("-I", "FORWARD", "1", "-j", "DOCKER-USER");
        Assert.DoesNotContain((await host.SavedChainsAsync(TableName.Filter)).Keys, n => n.StartsWith(IptablesTable.OwnedPrefix, StringComparison.Ordinal));
        var reloaded = await host.ForeignLinesAsync();
        var (filterLines, natLines) = (filter.LinesExecuted, nat.LinesExecuted);
        filter.Table.RequestReadBack();
        nat.Table.RequestReadBack();
        await filter.ApplyAsync();
        await nat.ApplyAsync();

        await AssertProgrammedAsync(host, renderer);
        Assert.Equal((filterLines * 2, natLines * 2), (filter.LinesExecuted, nat.LinesExecuted));
        Assert.Equal(reloaded, await host.ForeignLinesAsync());

        await host.RunToolAsync("-I", "FORWARD", "1", "-j", "DOCKER-USER");
        var dockerRestarted = await host.ForeignLinesAsync();
        await RepairAsync(host, renderer, filter, [], expectedLines: 2);
        Assert.Equal(dockerRestarted, await host.ForeignLinesAsync());
    }

    /// <summary>Programs both tables of <paramref name="renderer"/> into the namespace through fresh tables, sets first.</summary>
    private static async Task<(TableUnderTest Filter, TableUnderTest Nat)> ProgramAsync(IptablesHost host, PolicyRenderer renderer)
    {
        await host.CreateSetsAsync(renderer);
        var (filter, nat) = (host.NewTable(TableName.Filter), host.NewTable(TableName.Nat));
        filter.SetAll(renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter));
        nat.SetAll(renderer.Chains(TableName.Nat), PolicyRenderer.Hooks(TableName.Nat));
        await filter.ApplyAsync();
        await nat.ApplyAsync();
        return (filter, nat);
    }

    private static async Task AssertProgrammedAsync(IptablesHost host, PolicyRenderer renderer)
    {
        await host.AssertProgrammedAsync(TableName.Filter, renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter));
        await host.AssertProgrammedAsync(TableName.Nat, renderer.Chains(TableName.Nat), PolicyRenderer.Hooks(TableName.Nat));
    }

    /// <summary>
    /// Breaks the namespace with one hand-run command (none when it is already broken), checks the
    /// break is visible, then has the table read back and apply: one read-back, one restore of
    /// exactly the lines the damage needs, and the rendered state is back in both tables.
    /// </summary>
    private static async Task RepairAsync(IptablesHost host, PolicyRenderer renderer, TableUnderTest table, string[] damage, int expectedLines)
    {
        if (damage.Length > 0)
        {
            await host.RunToolAsync(damage);
        }
        var broken = await Record.ExceptionAsync(() => AssertProgrammedAsync(host, renderer));
        Assert.True(broken is not null, $"`{host.Tool} {string.Join(' ', damage)}` changed nothing the assertion sees");
        var (saves, restores, lines) = (table.SaveCalls, table.RestoreCalls, table.LinesExecuted);

        table.Table.RequestReadBack();
        await table.ApplyAsync();

        Assert.Equal((saves + 1, restores + 1, lines + expectedLines), (table.SaveCalls, table.RestoreCalls, table.LinesExecuted));
        await AssertProgrammedAsync(host, renderer);
    }
}
