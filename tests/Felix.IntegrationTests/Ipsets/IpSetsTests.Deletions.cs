using Felix.Dataplane;
using Felix.Dataplane.Ipsets;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Policy;

namespace Felix.IntegrationTests.Ipsets;

/// <summary>Destroys (paced, and held back while a rule uses the set) and rewrites through a temporary set.</summary>
public sealed partial class IpSetsTests
{
    public static TheoryData<IptablesBackend> Backends => [.. RestoreLoader.Backends];

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_set_a_rule_still_uses_is_destroyed_once_the_rule_is_gone_and_the_in_use_retry_has_passed(IptablesBackend backend)
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("inuse");
        var clock = new ManualClock();
        var retry = TimeSpan.FromSeconds(10);
        var sets = new IpSetsUnderTest(netns, IpSetsUnderTest.Quick with { InUseRetry = retry }, clock);
        foreach (var name in new[] { "felix-v4-a", "felix-v4-m", "felix-v4-z", "felix-v4-keep" })
        {
            sets.Want(V4Tag(name), [Host("192.168.0.1")]);
        }
        await sets.ApplyUpdatesAsync();
        string[] rule = ["INPUT", "-m", "set", "--match-set", "felix-v4-m", "src", "-j", "DROP"];
        await IptablesAsync(netns, backend, ["-A", .. rule]);

        sets.Drop("felix-v4-a");
        sets.Drop("felix-v4-m");
        sets.Drop("felix-v4-z");
        Assert.True(sets.Sets.HasPendingWork);
        await sets.ApplyDeletionsAsync();

        Assert.Equal(["felix-v4-keep", "felix-v4-m"], await FelixSetNamesAsync(netns));
        Assert.Equal(1, await KernelIpsets.ReferencesAsync(netns, "felix-v4-m"));
        Assert.False(sets.Sets.HasPendingWork);

        await IptablesAsync(netns, backend, ["-D", .. rule]);
        clock.Advance(retry - TimeSpan.FromSeconds(1));
        Assert.False(sets.Sets.HasPendingWork);
        Assert.Equal(0, await sets.ApplyDeletionsAsync());
        Assert.Equal(["felix-v4-keep", "felix-v4-m"], await FelixSetNamesAsync(netns));

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(sets.Sets.HasPendingWork);
        Assert.Equal(1, await sets.ApplyDeletionsAsync());
        await sets.AssertKernelAsync();
        Assert.False(sets.Sets.HasPendingWork);
        Assert.Equal(1, sets.Felix);
    }

    [Fact]
    public async Task Destroys_are_paced_at_MaxDestroysPerApply_per_deletion_apply()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("paced");
        var sets = new IpSetsUnderTest(netns, IpSetsUnderTest.Quick with { MaxDestroysPerApply = 2 });
        var names = Enumerable.Range(1, 5).Select(i => $"felix-v4-t{i}").ToList();
        names.ForEach(n => sets.Want(V4Tag(n), [Host("192.168.0.1")]));
        sets.Want(V4Tag("felix-v4-keep"), []);
        await sets.ApplyUpdatesAsync();

        names.ForEach(sets.Drop);
        Assert.Equal(2, await sets.ApplyDeletionsAsync());
        Assert.Equal(4, (await FelixSetNamesAsync(netns)).Count);
        Assert.Equal(2, await sets.ApplyDeletionsAsync());
        Assert.True(sets.Sets.HasPendingWork);
        Assert.Equal(1, await sets.ApplyDeletionsAsync());
        Assert.False(sets.Sets.HasPendingWork);
        await sets.AssertKernelAsync();
    }

    [Fact]
    public async Task A_set_given_another_type_is_rebuilt_as_that_type_under_its_name()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("retype");
        var sets = new IpSetsUnderTest(netns);
        sets.Want(V4Tag("felix-v4-t"), [Host("192.168.0.1"), Host("192.168.0.2")]);
        sets.Want(V6Tag("felix-v6-t"), [Host("fd00::1")]);
        await sets.ApplyUpdatesAsync();

        sets.Want(new IpSetSpec("felix-v4-t", IpSetType.HashNet, IpVersion.V4, MaxSize), [Net("192.168.0.0/24"), Net("10.0.0.0/8")]);
        // Another family is a rebuild too.
        sets.Want(new IpSetSpec("felix-v6-t", IpSetType.HashIp, IpVersion.V4, MaxSize), [Host("10.1.1.1")]);
        await sets.ApplyUpdatesAsync();
        await sets.ApplyDeletionsAsync();

        await sets.AssertKernelAsync();
        Assert.Equal(0, sets.Errors);
        Assert.False(sets.Sets.HasPendingWork);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_set_made_wrong_by_hand_is_rewritten_through_a_temporary_set_and_a_swap_that_keeps_the_rules_reference(IptablesBackend backend)
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("swap");
        // Wrong maxelem, a stranger among the members, one member missing; and the temporary sets a crash in
        // the middle of two rewrites left behind, one for this set and one for a set nobody wants.
        await KernelIpsets.RestoreAsync(netns, """
            create felix-v4-s hash:ip family inet maxelem 100
            add felix-v4-s 192.168.0.1
            add felix-v4-s 10.9.9.9
            create felix-tmp-v4-s hash:ip family inet
            add felix-tmp-v4-s 10.8.8.8
            create felix-tmp-v4-gone hash:net family inet

            """);
        await IptablesAsync(netns, backend, "-A", "INPUT", "-m", "set", "--match-set", "felix-v4-s", "src", "-j", "DROP");
        var sets = new IpSetsUnderTest(netns);
        sets.Want(new IpSetSpec("felix-v4-s", IpSetType.HashIp, IpVersion.V4, 1000), [Host("192.168.0.1"), Host("192.168.0.2")]);

        await sets.ApplyUpdatesAsync();
        Assert.Contains("swap felix-tmp-v4-s felix-v4-s\n", Assert.Single(sets.Restores), StringComparison.Ordinal);
        Assert.Equal(["felix-tmp-v4-gone", "felix-v4-s"], await FelixSetNamesAsync(netns));
        Assert.True(sets.Sets.HasPendingWork);
        await sets.ApplyDeletionsAsync();

        await sets.AssertKernelAsync();
        Assert.Equal(1, await KernelIpsets.ReferencesAsync(netns, "felix-v4-s"));
        var rules = await netns.ExecCheckedAsync(IptablesTool(backend), "-w", "10", "-S", "INPUT");
        Assert.Contains("--match-set felix-v4-s src -j DROP", rules.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(0, sets.Errors);
        Assert.False(sets.Sets.HasPendingWork);
    }

    /// <summary>
    /// The kernel swaps only sets of one type, and will not destroy one a rule uses: a referenced set
    /// given another type keeps its old self (reference, members) while the rule is there, the other
    /// sets' changes still go through, the half-built temporary set is cleared away, and once the
    /// rule is gone and the in-use retry has passed the set is rebuilt as the new type.
    /// </summary>
    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_referenced_set_given_another_type_is_kept_until_the_rule_is_gone_and_then_rebuilt(IptablesBackend backend)
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("retyperef");
        var clock = new ManualClock();
        var retry = TimeSpan.FromSeconds(10);
        var sets = new IpSetsUnderTest(netns, IpSetsUnderTest.Quick with { InUseRetry = retry }, clock);
        sets.Want(V4Tag("felix-v4-t"), [Host("10.0.0.1")]);
        sets.Want(V4Tag("felix-v4-u"), [Host("10.0.0.1")]);
        await sets.ApplyUpdatesAsync();
        var old = await KernelIpsets.SortedLinesAsync(netns, n => n == "felix-v4-t");
        string[] rule = ["INPUT", "-m", "set", "--match-set", "felix-v4-t", "src", "-j", "DROP"];
        await IptablesAsync(netns, backend, ["-A", .. rule]);

        sets.Want(new IpSetSpec("felix-v4-t", IpSetType.HashNet, IpVersion.V4, MaxSize), [Net("10.0.0.0/8")]);
        sets.Add("felix-v4-u", Host("10.0.0.5"));
        await sets.Sets.ApplyUpdatesAsync(CancellationToken.None);
        await sets.ApplyDeletionsAsync();

        Assert.Equal(old, await KernelIpsets.SortedLinesAsync(netns, n => n == "felix-v4-t"));
        Assert.Equal(1, await KernelIpsets.ReferencesAsync(netns, "felix-v4-t"));
        Assert.Equal(["felix-v4-t", "felix-v4-u"], await FelixSetNamesAsync(netns));
        Assert.Equal(sets.Expected["felix-v4-u"].Members, (await KernelIpsets.ReadAsync(netns))["felix-v4-u"].Networks);

        await IptablesAsync(netns, backend, ["-D", .. rule]);
        clock.Advance(retry);
        Assert.True(sets.Sets.HasPendingWork);
        await sets.ApplyUpdatesAsync();
        await sets.ApplyDeletionsAsync();
        await sets.AssertKernelAsync();
        Assert.False(sets.Sets.HasPendingWork);
    }

    [Fact]
    public async Task A_set_wanted_again_before_its_destroy_is_rebuilt_with_its_new_members_and_kept()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("rewant");
        var sets = new IpSetsUnderTest(netns);
        sets.Want(V4Tag("felix-v4-back"), [Host("10.0.0.1"), Host("10.0.0.2")]);
        await sets.ApplyUpdatesAsync();

        sets.Drop("felix-v4-back");
        sets.Want(V4Tag("felix-v4-back"), [Host("10.0.0.2"), Host("10.0.0.3")]);
        await sets.ApplyUpdatesAsync();
        await sets.ApplyDeletionsAsync();

        await sets.AssertKernelAsync();
        Assert.False(sets.Sets.HasPendingWork);
    }

    private static async Task<List<string>> FelixSetNamesAsync(NetNs netns) =>
        [.. (await KernelIpsets.ReadAsync(netns)).Keys.Where(IpSetNames.IsOwned).Order(StringComparer.Ordinal)];

    private static string IptablesTool(IptablesBackend backend) => Require.Executable($"iptables-{RestoreLoader.BackendName(backend)}", "iptables");

    private static async Task IptablesAsync(NetNs netns, IptablesBackend backend, params string[] arguments) =>
        await netns.ExecCheckedAsync([IptablesTool(backend), "-w", "10", .. arguments]);
}
