using Felix.Dataplane.Tests.Fakes;

namespace Felix.Agent.Tests.Dataplane;

public partial class DataplaneDriverApplyTests
{
    [Fact]
    public async Task At_start_every_iptables_table_reads_back_before_any_of_them_writes()
    {
        await using var host = new DriverHarness();
        host.AddLinkBeforeStart(SeedCluster.DbInterface);
        await host.StartAsync();

        await host.SendAsync(new SeedCluster().Snapshot());

        var calls = host.Commands.Iptables.Calls;
        var saves = calls.Select((c, i) => (c, i)).Where(x => x.c.Tool == FakeIptablesTool.Save).Select(x => x.i).ToList();
        var restores = calls.Select((c, i) => (c, i)).Where(x => x.c.Tool == FakeIptablesTool.Restore).Select(x => x.i).ToList();
        Assert.Equal(4, saves.Count);
        Assert.Equal(4, restores.Count);
        Assert.True(saves.Max() < restores.Min());
    }
}
