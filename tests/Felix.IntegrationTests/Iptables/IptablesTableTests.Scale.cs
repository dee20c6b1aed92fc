using Felix.Agent.Calculation;
using Felix.Agent.Policy;
using Felix.Dataplane;
using Felix.Dataplane.Exec;
using Felix.Dataplane.Iptables;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Policy;

namespace Felix.IntegrationTests.Iptables;

public sealed partial class IptablesTableTests
{
    private const int LargeModel = 1_000;

    /// <summary>What one endpoint change may cost on the hot path, however many endpoints are programmed.</summary>
    private const int MaxLinesPerEndpointChange = 20;

    public static TheoryData<IptablesBackend> Backends() => [.. RestoreLoader.Backends];

    /// <summary>
    /// With a thousand endpoints programmed, one endpoint gets other profiles and then a second
    /// address. Each change is re-rendered and only the chains the renderer reports changed are
    /// fed to the table, as the agent does: one restore of a handful of lines, and no read-back.
    /// </summary>
    [Theory]
    [MemberData(nameof(Backends))]
    public async Task One_endpoint_change_among_a_thousand_is_one_small_restore_without_a_read_back(IptablesBackend backend)
    {
        await using var net = new NetworkNamespaces();
        var host = new IptablesHost(await net.CreateNamespaceAsync("scale"), backend, IpVersion.V4);
        var renderer = IptablesModel.Rendered(IpVersion.V4, LargeModel);
        var (filter, _) = await ProgramAsync(host, renderer);
        var saveRuns = host.Runner.Commands.Count(IsSave);
        const int changed = 17;

        await ChangeEndpointAsync(host, renderer, filter, IptablesModel.Endpoint(changed, profiles: ["p5", "p0"]));
        await ChangeEndpointAsync(host, renderer, filter, IptablesModel.Endpoint(changed, profiles: ["p5", "p0"], extraIpv4Addresses: 1));

        Assert.Equal(saveRuns, host.Runner.Commands.Count(IsSave));
        await host.AssertProgrammedAsync(TableName.Filter, renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter));
    }

    /// <summary>
    /// An endpoint with four profiles (an OpenStack VM in four security groups) is moved to four
    /// others: eight rules change in each of its two chains, sixteen lines if each is replaced in
    /// place. The count does not depend on how many endpoints are programmed, so a small model shows it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Replacing_all_four_profiles_of_an_endpoint_stays_within_the_line_budget(IptablesBackend backend)
    {
        await using var net = new NetworkNamespaces();
        var host = new IptablesHost(await net.CreateNamespaceAsync("profiles"), backend, IpVersion.V4);
        var renderer = IptablesModel.Rendered(IpVersion.V4, SmallModel);
        var (filter, _) = await ProgramAsync(host, renderer);
        await ChangeEndpointAsync(host, renderer, filter, IptablesModel.Endpoint(1, profiles: ["p0", "p1", "p2", "p3"]));

        await ChangeEndpointAsync(host, renderer, filter, IptablesModel.Endpoint(1, profiles: ["p4", "p5", "p6", "p7"]));

        await host.AssertProgrammedAsync(TableName.Filter, renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter));
    }

    private static async Task ChangeEndpointAsync(IptablesHost host, PolicyRenderer renderer, TableUnderTest filter, EndpointUpdate endpoint)
    {
        renderer.OnUpdate(endpoint);
        var changes = renderer.Render();
        Assert.True(changes.Nat.IsEmpty, "an endpoint change re-rendered nat chains");
        Assert.NotEmpty(changes.Filter.Updated);
        var (saves, restores, lines) = (filter.SaveCalls, filter.RestoreCalls, filter.LinesExecuted);

        foreach (var chain in changes.Filter.Updated)
        {
            filter.Table.SetChain(chain);
        }
        foreach (var name in changes.Filter.Removed)
        {
            filter.Table.RemoveChain(name);
        }
        await filter.ApplyAsync();

        Assert.Equal(restores + 1, filter.RestoreCalls);
        Assert.Equal(saves, filter.SaveCalls);
        var written = filter.LinesExecuted - lines;
        Assert.True(written is >= 1 and <= MaxLinesPerEndpointChange,
            $"one endpoint change took {written} lines (budget {MaxLinesPerEndpointChange}):\n{host.Runner.Commands[^1].StandardInput}");
    }

    private static bool IsSave(Command command) => command.FileName.EndsWith("-save", StringComparison.Ordinal);
}
