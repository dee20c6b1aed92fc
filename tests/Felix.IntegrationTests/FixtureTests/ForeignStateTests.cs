using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;

namespace Felix.IntegrationTests.FixtureTests;

/// <summary>The foreign-state snapshot holds every foreign object, and sees a change to any of them.</summary>
public sealed class ForeignStateTests
{
    public ForeignStateTests() => Require.Root();

    [Theory]
    [InlineData("nft")]
    [InlineData("legacy")]
    public async Task The_snapshot_shows_every_foreign_object_and_a_change_to_one_fails_the_check(string backend)
    {
        await using var cluster = await Cluster.StartAsync(hostCount: 1, withEtcd: false);
        var host = cluster.Hosts[0];
        var foreign = await ForeignState.InstallAsync(host, backend);
        var installed = await foreign.SnapshotAsync();

        Assert.Contains("-N DOCKER-USER", installed, StringComparison.Ordinal);
        Assert.Contains("-A DOCKER-USER -s 172.17.0.0/16 -p tcp -m tcp --dport 25 -j DROP", installed, StringComparison.Ordinal);
        Assert.Contains("-A DOCKER-USER -s fd17::/64 -p tcp -m tcp --dport 25 -j DROP", installed, StringComparison.Ordinal);
        Assert.Contains("-A FORWARD -j DOCKER-USER", installed, StringComparison.Ordinal);
        Assert.Contains("admin: jump host", installed, StringComparison.Ordinal);
        Assert.Contains("add admin-blocklist 203.0.113.7", installed, StringComparison.Ordinal);
        Assert.Contains("198.51.100.0/24 via 10.99.0.253 dev eth0", installed, StringComparison.Ordinal);
        Assert.Contains("2001:db8:1::/64 via fd99::fd dev eth0", installed, StringComparison.Ordinal);
        await foreign.AssertUnchangedAsync(installed, "with nothing done");

        await host.Namespace.ExecCheckedAsync("ipset", "del", ForeignState.AdminSet, "203.0.113.8");
        await Assert.ThrowsAsync<Xunit.Sdk.TrueException>(() => foreign.AssertUnchangedAsync(installed, "after a member was deleted"));
    }
}
