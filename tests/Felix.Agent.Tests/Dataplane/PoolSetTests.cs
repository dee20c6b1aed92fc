using Felix.Agent.Calculation;
using Felix.Agent.Dataplane;

namespace Felix.Agent.Tests.Dataplane;

/// <summary>
/// The NAT sets felix-POSTROUTING matches on: every pool, and the masquerading ones, per family.
/// They exist from the first apply on, pools or not, so the chain never names a missing set.
/// </summary>
public class PoolSetTests
{
    private static readonly TimeSpan Throttle = new DriverOptions().MinApplyInterval;
    private static readonly string[] PoolSets = ["felix-all-ipam-pools", "felix-all-ipam-pools-v6", "felix-masq-ipam-pools", "felix-masq-ipam-pools-v6"];

    [Fact]
    public async Task The_pool_sets_of_both_families_exist_empty_when_there_is_no_pool()
    {
        await using var host = new DriverHarness();
        await host.StartAsync();

        await host.SendAsync(new InSync());

        Assert.Equal(PoolSets, host.Commands.Ipset.SetNames().Order(StringComparer.Ordinal));
        foreach (var name in PoolSets)
        {
            var set = host.Commands.Ipset.Describe(name)!;
            Assert.Equal(("hash:net", name.EndsWith("-v6", StringComparison.Ordinal) ? IpVersion.V6 : IpVersion.V4), (set.Type, set.Family));
            Assert.Empty(set.Members);
        }
    }

    [Fact]
    public async Task The_all_set_holds_every_pool_and_the_masquerade_set_the_masquerading_ones()
    {
        await using var host = new DriverHarness();
        await host.StartAsync();

        await host.SendAsync(
            Workloads.Pool("10.0.0.0/16", masquerade: true),
            Workloads.Pool("10.1.0.0/16", masquerade: false),
            Workloads.Pool("fd00::/64", masquerade: true),
            Workloads.Pool("fd01::/64", masquerade: false),
            new InSync());

        Assert.Equal(["10.0.0.0/16", "10.1.0.0/16"], Members(host, "felix-all-ipam-pools"));
        Assert.Equal(["10.0.0.0/16"], Members(host, "felix-masq-ipam-pools"));
        Assert.Equal(["fd00::/64", "fd01::/64"], Members(host, "felix-all-ipam-pools-v6"));
        Assert.Equal(["fd00::/64"], Members(host, "felix-masq-ipam-pools-v6"));
        Assert.Contains(host.Commands.Iptables.Chain(IpVersion.V6, "nat", "felix-POSTROUTING")!,
            rule => rule.Contains("--match-set felix-masq-ipam-pools-v6 src", StringComparison.Ordinal));

        // One pool goes, another starts masquerading.
        await host.SendAsync(new PoolRemove(Workloads.PoolKey("10.0.0.0/16")), Workloads.Pool("fd01::/64", masquerade: true));
        await host.AdvanceAsync(Throttle);

        Assert.Equal(["10.1.0.0/16"], Members(host, "felix-all-ipam-pools"));
        Assert.Empty(Members(host, "felix-masq-ipam-pools"));
        Assert.Equal(["fd00::/64", "fd01::/64"], Members(host, "felix-masq-ipam-pools-v6"));
        Assert.True(host.Commands.Ipset.Exists("felix-masq-ipam-pools"));
    }

    private static IEnumerable<string> Members(DriverHarness host, string set) =>
        host.Commands.Ipset.Members(set)!.Order(StringComparer.Ordinal);
}
