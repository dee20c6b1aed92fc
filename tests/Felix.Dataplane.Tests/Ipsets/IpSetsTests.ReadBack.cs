using System.Net;
using Felix.Dataplane.Ipsets;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Tests.Ipsets;

public sealed partial class IpSetsTests
{
    [Fact]
    public async Task Members_and_sets_changed_by_hand_are_repaired_at_the_next_read_back()
    {
        var sets = await ProgramAsync();
        _fake.DeleteMember(Db.Name, "10.0.0.1");
        _fake.AddMember(Db.Name, "10.0.0.66");
        _fake.DestroySet(DbUsers.Name);

        sets.RequestReadBack();
        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));

        Assert.Equal(["10.0.0.1", "10.0.0.2"], _fake.Members(Db.Name));
        Assert.Equal(["10.0.1.1"], _fake.Members(DbUsers.Name));
        var repair = Lines(_fake.RestoreInputs[^1]);
        Assert.Equal(["del felix-v4-db 10.0.0.66 -exist", "add felix-v4-db 10.0.0.1"], repair.Take(2));
        Assert.Contains("rename felix-tmp-v4-db-users felix-v4-db-users", repair);
        Assert.Contains(_harness.Log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("changed by someone else", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_refresh_interval_drives_the_read_back()
    {
        var sets = await ProgramAsync();
        _fake.DeleteMember(Db.Name, "10.0.0.2");
        var saves = _fake.Calls.Count(c => c.Subcommand == "save");

        _harness.Clock.Advance(TimeSpan.FromSeconds(89));
        Assert.False(sets.HasPendingWork);
        _harness.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(sets.HasPendingWork);
        await sets.ApplyUpdatesAsync(CancellationToken.None);

        Assert.Equal(saves + 1, _fake.Calls.Count(c => c.Subcommand == "save"));
        Assert.Equal(["10.0.0.1", "10.0.0.2"], _fake.Members(Db.Name));
        Assert.False(sets.HasPendingWork);
    }

    [Fact]
    public async Task A_zero_refresh_interval_turns_the_periodic_read_back_off()
    {
        var sets = _harness.NewSets(IpSetsHarness.Options with { RefreshInterval = TimeSpan.Zero });
        Define(sets);
        await sets.ApplyUpdatesAsync(CancellationToken.None);

        _harness.Clock.Advance(TimeSpan.FromDays(7));

        Assert.False(sets.HasPendingWork);
    }

    [Fact]
    public async Task Sets_left_by_an_earlier_run_are_destroyed_and_its_temporary_sets_cleared()
    {
        _fake.CreateSet("felix-v4-stale");
        _fake.CreateSet("felix-tmp-v4-db");
        _fake.AddMember("felix-tmp-v4-db", "10.9.9.9");
        _fake.CreateSet("felix-tmp-v4-gone");
        var sets = _harness.NewSets();
        Define(sets);

        await sets.ApplyUpdatesAsync(CancellationToken.None);
        await sets.ApplyDeletionsAsync(CancellationToken.None);

        Assert.Equal("destroy felix-tmp-v4-db", Lines(_fake.RestoreInputs[0])[0]);
        Assert.Equal(["felix-v4-db", "felix-v4-db-users"], _fake.SetNames().Order(StringComparer.Ordinal));
        Assert.Equal(["10.0.0.1", "10.0.0.2"], _fake.Members(Db.Name));
        Assert.Equal(["destroy felix-tmp-v4-gone", "destroy felix-v4-stale"], Lines(_fake.RestoreInputs[^1]));
    }

    [Fact]
    public async Task A_set_found_unwanted_and_then_wanted_ends_with_exactly_the_desired_members()
    {
        _fake.CreateSet(Db.Name);
        _fake.AddMember(Db.Name, "10.0.0.77");
        var sets = _harness.NewSets();
        await sets.ApplyUpdatesAsync(CancellationToken.None);

        Define(sets);
        await sets.ApplyUpdatesAsync(CancellationToken.None);

        Assert.Equal(["10.0.0.1", "10.0.0.2"], _fake.Members(Db.Name));
    }

    [Fact]
    public async Task A_set_with_another_maxelem_is_rebuilt_and_swapped_keeping_its_references()
    {
        _fake.CreateSet(Db.Name, maxElem: 65536);
        _fake.AddMember(Db.Name, "10.0.0.1");
        _fake.AddMember(Db.Name, "10.0.0.99");
        _fake.SetReferences(Db.Name, 1);
        var sets = _harness.NewSets();
        Define(sets);

        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));

        var db = _fake.Describe(Db.Name)!;
        Assert.Equal((1_048_576L, 1), (db.MaxElem, db.References));
        Assert.Equal(["10.0.0.1", "10.0.0.2"], db.Members);
        Assert.DoesNotContain(_fake.SetNames(), IpSetNames.IsTemporary);
    }

    [Fact]
    public async Task A_set_of_another_type_is_replaced_once_nothing_uses_it()
    {
        _fake.CreateSet(Db.Name, "hash:net");
        _fake.AddMember(Db.Name, "10.0.0.0/24");
        _fake.SetReferences(Db.Name, 1);
        var sets = _harness.NewSets();
        Define(sets);

        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));
        Assert.Equal("hash:net", _fake.Describe(Db.Name)!.Type);
        Assert.Contains(_harness.Log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("cannot be replaced by a hash:ip set of family inet while a rule still uses the old one", StringComparison.Ordinal));
        Assert.True(await sets.ApplyDeletionsAsync(CancellationToken.None));
        Assert.DoesNotContain(_fake.SetNames(), IpSetNames.IsTemporary);

        _fake.SetReferences(Db.Name, 0);
        _harness.Clock.Advance(TimeSpan.FromSeconds(10));
        Assert.True(sets.HasPendingWork);
        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));

        Assert.Equal("hash:ip", _fake.Describe(Db.Name)!.Type);
        Assert.Equal(["10.0.0.1", "10.0.0.2"], _fake.Members(Db.Name));
        Assert.DoesNotContain(_fake.SetNames(), IpSetNames.IsTemporary);
    }

    [Fact]
    public async Task A_set_over_MaxIpsetSize_is_left_as_it_is_logged_and_counted()
    {
        var small = Tag("db", maxSize: 2);
        var sets = _harness.NewSets();
        sets.AddOrReplaceSet(small, Hosts("10.0.0.1", "10.0.0.2"));
        await sets.ApplyUpdatesAsync(CancellationToken.None);

        sets.AddMembers(small.Name, Hosts("10.0.0.3"));
        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));

        Assert.Equal(["10.0.0.1", "10.0.0.2"], _fake.Members(small.Name));
        Assert.Single(_fake.RestoreInputs);
        Assert.Equal(1, _harness.Counter("felix_ipsets_oversized"));
        Assert.Contains(_harness.Log.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("more than MaxIpsetSize (2)", StringComparison.Ordinal));
        Assert.False(sets.HasPendingWork);

        sets.RemoveMembers(small.Name, Hosts("10.0.0.1"));
        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));
        Assert.Equal(["10.0.0.2", "10.0.0.3"], _fake.Members(small.Name));
        Assert.Equal(0, _harness.Counter("felix_ipsets_oversized"));
    }

    [Fact]
    public async Task A_new_set_over_MaxIpsetSize_is_created_empty_so_the_rules_using_it_can_load()
    {
        var small = Tag("db", maxSize: 1);
        var sets = _harness.NewSets();
        sets.AddOrReplaceSet(small, Hosts("10.0.0.1", "10.0.0.2"));

        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));
        Assert.Equal([], _fake.Members(small.Name));
        Assert.False(sets.HasPendingWork);

        sets.RemoveMembers(small.Name, Hosts("10.0.0.2"));
        await sets.ApplyUpdatesAsync(CancellationToken.None);
        Assert.Equal(["10.0.0.1"], _fake.Members(small.Name));
        Assert.Equal(["add felix-v4-db 10.0.0.1"], Lines(_fake.RestoreInputs[^1]));
    }

    [Fact]
    public async Task IPv6_and_network_sets_take_deltas_too()
    {
        var v6 = Tag("db", IpVersion.V6);
        var sets = _harness.NewSets();
        sets.AddOrReplaceSet(v6, Hosts("fd00::1", "fd00::2"));
        sets.AddOrReplaceSet(Pools, [IPNetwork.Parse("10.0.0.0/16")]);
        await sets.ApplyUpdatesAsync(CancellationToken.None);

        sets.RemoveMembers(v6.Name, Hosts("fd00::1"));
        sets.AddMembers(v6.Name, Hosts("fd00::a:3"));
        sets.AddMembers(Pools.Name, [IPNetwork.Parse("192.168.0.0/24"), IPNetwork.Parse("172.16.0.1/32")]);
        await sets.ApplyUpdatesAsync(CancellationToken.None);

        Assert.Equal(
            ["add felix-all-ipam-pools 172.16.0.1", "add felix-all-ipam-pools 192.168.0.0/24", "del felix-v6-db fd00::1 -exist", "add felix-v6-db fd00::a:3"],
            Lines(_fake.RestoreInputs[^1]));
        Assert.Equal(["fd00::2", "fd00::a:3"], _fake.Members(v6.Name));

        var restarted = _harness.NewSets();
        restarted.AddOrReplaceSet(v6, Hosts("fd00::2", "fd00::a:3"));
        restarted.AddOrReplaceSet(Pools, [IPNetwork.Parse("10.0.0.0/16"), IPNetwork.Parse("192.168.0.0/24"), IPNetwork.Parse("172.16.0.1/32")]);
        var restores = _fake.RestoreInputs.Count;
        await restarted.ApplyUpdatesAsync(CancellationToken.None);
        Assert.Equal(restores, _fake.RestoreInputs.Count);
    }
}
