using System.Net;
using Felix.Dataplane;
using Felix.Dataplane.Ipsets;
using Felix.Dataplane.Iptables;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Iptables;
using Felix.IntegrationTests.Policy;
using Prometheus;

namespace Felix.IntegrationTests.Ipsets;

/// <summary>
/// The order the apply step keeps, against the real kernel: a rule cannot load before its set
/// exists, and a set cannot be destroyed while a rule matches on it. With sets created and filled
/// before the iptables apply and destroyed after it, every step succeeds; out of order, the set
/// manager keeps a set a rule still uses without failing, and destroys it once the rule is gone.
/// </summary>
public sealed class IpSetsOrderingTests
{
    private static readonly IpSetsOptions Options = new()
    {
        RefreshInterval = TimeSpan.Zero,
        InitialBackoff = TimeSpan.Zero,
        MaxBackoff = TimeSpan.Zero,
        MaxAttempts = 3,
        InUseRetry = TimeSpan.Zero,
    };

    public IpSetsOrderingTests()
    {
        Require.Root();
    }

    [Theory]
    [MemberData(nameof(RestoreLoader.BackendsAndFamilies), MemberType = typeof(RestoreLoader))]
    public async Task Sets_come_before_the_rules_that_use_them_and_go_after(IptablesBackend backend, IpVersion version)
    {
        await using var net = new NetworkNamespaces();
        var host = new IptablesHost(await net.CreateNamespaceAsync("order"), backend, version);
        var (spec, member) = Set(version);
        var sets = NewSets(host.Runner);
        var filter = host.NewTable(TableName.Filter);

        filter.Table.SetChain(MatchingChain(spec.Name));
        Assert.False(await filter.Table.ApplyAsync(CancellationToken.None), "a rule matching on a set that does not exist loaded");

        sets.AddOrReplaceSet(spec, [member]);
        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));
        await filter.ApplyAsync();
        Assert.True(await sets.ApplyDeletionsAsync(CancellationToken.None));

        filter.Table.RemoveChain("felix-uses-set");
        sets.RemoveSet(spec.Name);
        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));
        Assert.True(await SetExistsAsync(host.Netns, spec.Name), "the set went before the rule that uses it");
        await filter.ApplyAsync();
        Assert.True(await sets.ApplyDeletionsAsync(CancellationToken.None));

        Assert.False(await SetExistsAsync(host.Netns, spec.Name));
        Assert.False(sets.HasPendingWork);
    }

    [Theory]
    [MemberData(nameof(RestoreLoader.BackendsAndFamilies), MemberType = typeof(RestoreLoader))]
    public async Task A_set_a_rule_still_uses_is_kept_without_failing_and_destroyed_once_the_rule_is_gone(IptablesBackend backend, IpVersion version)
    {
        await using var net = new NetworkNamespaces();
        var host = new IptablesHost(await net.CreateNamespaceAsync("inuse"), backend, version);
        var (spec, member) = Set(version);
        var other = new IpSetSpec($"felix-v{(int)version}-other", IpSetType.HashIp, version, 1024);
        var sets = NewSets(host.Runner);
        var filter = host.NewTable(TableName.Filter);
        sets.AddOrReplaceSet(spec, [member]);
        sets.AddOrReplaceSet(other, [member]);
        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));
        filter.Table.SetChain(MatchingChain(spec.Name));
        await filter.ApplyAsync();

        sets.RemoveSet(spec.Name);
        sets.RemoveSet(other.Name);
        Assert.True(await sets.ApplyDeletionsAsync(CancellationToken.None));

        Assert.True(await SetExistsAsync(host.Netns, spec.Name), "a set a rule uses was destroyed");
        Assert.False(await SetExistsAsync(host.Netns, other.Name), "the unused set was not destroyed next to the one in use");

        filter.Table.RemoveChain("felix-uses-set");
        await filter.ApplyAsync();
        Assert.True(sets.HasPendingWork);
        Assert.True(await sets.ApplyDeletionsAsync(CancellationToken.None));
        Assert.False(await SetExistsAsync(host.Netns, spec.Name));
    }

    private static IpSets NewSets(NamespacedCommandRunner runner) =>
        new(runner, new IpsetMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry())), new RecordingLogger<IpSets>(), Options, TimeProvider.System);

    private static (IpSetSpec Spec, IPNetwork Member) Set(IpVersion version) =>
        (new IpSetSpec($"felix-v{(int)version}-db", IpSetType.HashIp, version, 1024),
            IpSetSpec.Host(IPAddress.Parse(version == IpVersion.V4 ? "10.65.0.1" : "fd65::1")));

    private static Chain MatchingChain(string set) =>
        new("felix-uses-set", [new IptablesRule(MatchCriteria.Any.IpSet(set, SetDirection.Source), IptablesAction.Drop)]);

    private static async Task<bool> SetExistsAsync(NetNs netns, string name) =>
        (await netns.ExecAsync(Require.Executable("ipset", "ipset"), "list", "-n", name)).ExitCode == 0;
}
