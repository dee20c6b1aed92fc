using Felix.Dataplane.Ipsets;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Ipsets;

/// <summary>Drift made by hand, repaired after a read-back (asked for, or due by time), and other programs' sets left alone.</summary>
public sealed partial class IpSetsTests
{
    [Fact]
    public async Task Drift_made_by_hand_is_repaired_after_a_read_back_and_the_sets_it_spared_are_not_rewritten()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("drift");
        var sets = new IpSetsUnderTest(netns);
        WantSeed(sets);
        await sets.ApplyUpdatesAsync();
        var spared = (string n) => IpSetNames.IsOwned(n) && n is not ("felix-v4-db" or "felix-v4-web" or "felix-v4-db-users" or "felix-v6-db");
        var sparedLines = await KernelIpsets.SortedLinesAsync(netns, spared);

        await KernelIpsets.RunAsync(netns, "del", "felix-v4-db", "192.168.0.1");
        await KernelIpsets.RunAsync(netns, "add", "felix-v4-web", "192.168.9.9");
        await KernelIpsets.RunAsync(netns, "destroy", "felix-v4-db-users");
        // Right members, but with counters the agent never asks for.
        await KernelIpsets.RunAsync(netns, "destroy", "felix-v6-db");
        await KernelIpsets.RestoreAsync(netns, """
            create felix-v6-db hash:ip family inet6 maxelem 1048576 counters
            add felix-v6-db fd00::1
            add felix-v6-db fd00::2
            add felix-v6-db 2001:db8::a:1

            """);
        await KernelIpsets.RunAsync(netns, "create", "felix-v4-stray", "hash:ip");
        // A felix name the agent never gives, of a type it never creates.
        await KernelIpsets.RunAsync(netns, "create", "felix-ports", "hash:ip,port");
        await KernelIpsets.RunAsync(netns, "add", "felix-ports", "10.0.0.1,tcp:80");

        // Between read-backs the agent trusts its own record: nothing to do, nothing done.
        Assert.False(sets.Sets.HasPendingWork);
        Assert.Equal(0, await sets.ApplyUpdatesAsync());
        Assert.Equal(1, sets.Saves);

        sets.Sets.RequestReadBack();
        Assert.True(sets.Sets.HasPendingWork);
        await sets.ApplyUpdatesAsync();
        Assert.Equal(2, await sets.ApplyDeletionsAsync());

        await sets.AssertKernelAsync();
        Assert.Equal(2, sets.Saves);
        Assert.Equal(0, sets.Errors);
        Assert.DoesNotContain(" counters", (await KernelIpsets.SortedLinesAsync(netns, n => n == "felix-v6-db"))[0], StringComparison.Ordinal);
        Assert.Equal(sparedLines, await KernelIpsets.SortedLinesAsync(netns, spared));
        Assert.False(sets.Sets.HasPendingWork);
    }

    /// <summary>
    /// Drift the agent has not read back makes the kernel refuse a delta (a member already there, a
    /// set gone): the same apply reads back, rewrites what was refused, and succeeds, pinning the
    /// refusal on the right line of ipset's real error text.
    /// </summary>
    [Fact]
    public async Task A_delta_refused_because_of_unseen_drift_is_repaired_by_a_read_back_within_the_same_apply()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("refused");
        var sets = new IpSetsUnderTest(netns);
        WantSeed(sets);
        await sets.ApplyUpdatesAsync();

        await KernelIpsets.RunAsync(netns, "add", "felix-v4-db", "192.168.0.77");
        await KernelIpsets.RunAsync(netns, "destroy", "felix-v4-web");
        sets.Add("felix-v4-db", Host("192.168.0.77"));
        sets.Add("felix-v4-web", Host("192.168.1.200"));
        sets.Remove("felix-v6-db", Host("fd00::1"));
        await sets.ApplyUpdatesAsync();

        await sets.AssertKernelAsync();
        Assert.Equal(1, sets.Errors);
        Assert.Equal(2, sets.Saves);
        Assert.Null(sets.Sets.FailingSince);
        Assert.False(sets.Sets.HasPendingWork);
        Assert.Equal(0, await sets.ApplyDeletionsAsync());
    }

    [Fact]
    public async Task The_periodic_read_back_is_due_after_the_refresh_interval_and_repairs_drift()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("refresh");
        var clock = new ManualClock();
        var interval = TimeSpan.FromSeconds(90);
        var sets = new IpSetsUnderTest(netns, IpSetsUnderTest.Quick with { RefreshInterval = interval }, clock);
        WantSeed(sets);
        await sets.ApplyUpdatesAsync();
        Assert.False(sets.Sets.ReadBackDue);

        await KernelIpsets.RunAsync(netns, "del", "felix-v4-db", "192.168.0.1");
        await KernelIpsets.RunAsync(netns, "add", "felix-all-ipam-pools", "10.99.0.0/16");

        clock.Advance(interval - TimeSpan.FromSeconds(1));
        Assert.False(sets.Sets.ReadBackDue);
        Assert.False(sets.Sets.HasPendingWork);
        Assert.Equal(0, await sets.ApplyUpdatesAsync());
        Assert.Equal(1, sets.Saves);

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(sets.Sets.ReadBackDue);
        Assert.True(sets.Sets.HasPendingWork);
        Assert.Equal(2, await sets.ApplyUpdatesAsync());

        await sets.AssertKernelAsync();
        Assert.Equal(2, sets.Saves);
        Assert.False(sets.Sets.ReadBackDue);
        Assert.False(sets.Sets.HasPendingWork);
    }

    [Fact]
    public async Task Other_programs_sets_come_through_applies_repairs_deletions_and_a_restart_byte_for_byte()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("foreign");
        // Calico's own sets, one named like ours but without the dash, one with a comment the agent's parser must skip,
        // a list of sets, and one with counters.
        await KernelIpsets.RestoreAsync(netns, """
            create cali40-foo hash:ip family inet
            add cali40-foo 192.168.0.1
            add cali40-foo 10.9.9.9
            create felixfoo hash:ip family inet
            add felixfoo 192.168.0.2
            create felix hash:net family inet
            add felix 10.0.0.0/8
            create cali40-ports hash:ip,port family inet comment
            add cali40-ports 10.0.0.1,tcp:80 comment "add felix-v4-db 10.1.1.1"
            create cali40-all list:set
            add cali40-all cali40-foo
            create cali60-net hash:net family inet6 counters
            add cali60-net fd00::/64 packets 5 bytes 400

            """);
        var isForeign = (string n) => !IpSetNames.IsOwned(n);
        var foreign = await KernelIpsets.SortedLinesAsync(netns, isForeign);
        const int ForeignSets = 6;
        Assert.Equal(ForeignSets, foreign.Count(l => l.StartsWith("create ", StringComparison.Ordinal)));

        var sets = new IpSetsUnderTest(netns);
        WantSeed(sets);
        await sets.ApplyUpdatesAsync();
        await sets.AssertKernelAsync();
        Assert.Equal(foreign, await KernelIpsets.SortedLinesAsync(netns, isForeign));
        Assert.Equal((sets.Expected.Count, ForeignSets + sets.Expected.Count), (sets.Felix, sets.Total));

        await KernelIpsets.RunAsync(netns, "del", "felix-v4-db", "192.168.0.1");
        sets.Sets.RequestReadBack();
        await sets.ApplyUpdatesAsync();
        await sets.AssertKernelAsync();
        Assert.Equal(foreign, await KernelIpsets.SortedLinesAsync(netns, isForeign));

        sets.Drop("felix-v4-db");
        sets.Drop("felix-all-ipam-pools");
        await sets.ApplyUpdatesAsync();
        Assert.Equal(2, await sets.ApplyDeletionsAsync());
        await sets.AssertKernelAsync();
        Assert.Equal(foreign, await KernelIpsets.SortedLinesAsync(netns, isForeign));

        // A restarted agent that wants nothing destroys every felix set, and nothing else.
        var restarted = new IpSetsUnderTest(netns);
        await restarted.ApplyUpdatesAsync();
        await restarted.ApplyDeletionsAsync();
        await restarted.AssertKernelAsync();
        Assert.Equal(foreign, await KernelIpsets.SortedLinesAsync(netns, isForeign));
        Assert.Equal((0, ForeignSets), (restarted.Felix, restarted.Total));
        Assert.Equal(0, sets.Errors + restarted.Errors);
    }
}
