using System.Net;
using Felix.Dataplane.Ipsets;
using Felix.Dataplane.Tests.Fakes;

namespace Felix.Dataplane.Tests.Ipsets;

/// <summary>
/// The set manager against a semantic fake of ipset: each change costs the lines it must and no
/// more, a new set appears only once full, a restart adopts what is there, and no set outside the
/// felix ones is ever touched.
/// </summary>
public sealed partial class IpSetsTests
{
    private static readonly IpSetSpec Db = Tag("db");
    private static readonly IpSetSpec DbUsers = Tag("db-users");
    private static readonly IpSetSpec Pools = new("felix-all-ipam-pools", IpSetType.HashNet, IpVersion.V4, 1_048_576);

    private readonly FakeIpset _fake = new();
    private readonly IpSetsHarness _harness;

    public IpSetsTests()
    {
        _harness = new IpSetsHarness(_fake);
    }

    [Fact]
    public async Task A_new_set_is_filled_as_a_temporary_set_and_renamed_into_place()
    {
        var sets = _harness.NewSets();
        sets.AddOrReplaceSet(Db, Hosts("10.0.0.1", "10.0.0.2"));

        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));

        Assert.Equal(
            ["create felix-tmp-v4-db hash:ip family inet hashsize 1024 maxelem 1048576", "add felix-tmp-v4-db 10.0.0.1",
                "add felix-tmp-v4-db 10.0.0.2", "rename felix-tmp-v4-db felix-v4-db"],
            SortedAdds(Lines(_fake.RestoreInputs.Single())));
        Assert.Equal(["10.0.0.1", "10.0.0.2"], _fake.Members("felix-v4-db"));
        Assert.Equal(["felix-v4-db"], _fake.SetNames());
    }

    [Fact]
    public async Task All_sets_of_one_apply_go_in_one_restore()
    {
        var sets = _harness.NewSets();
        sets.AddOrReplaceSet(Db, Hosts("10.0.0.1"));
        sets.AddOrReplaceSet(DbUsers, Hosts("10.0.1.1"));
        sets.AddOrReplaceSet(Pools, [IPNetwork.Parse("10.0.0.0/16"), IPNetwork.Parse("192.168.7.7/32")]);
        sets.AddOrReplaceSet(Tag("db", IpVersion.V6), Hosts("fd00::1"));

        await sets.ApplyUpdatesAsync(CancellationToken.None);

        Assert.Single(_fake.RestoreInputs);
        Assert.Equal(["10.0.0.0/16", "192.168.7.7"], _fake.Members("felix-all-ipam-pools"));
        Assert.Equal(["fd00::1"], _fake.Members("felix-v6-db"));
        var v6 = _fake.Describe("felix-v6-db")!;
        Assert.Equal(("hash:ip", IpVersion.V6), (v6.Type, v6.Family));
        Assert.Equal(("hash:net", IpVersion.V4), (_fake.Describe("felix-all-ipam-pools")!.Type, _fake.Describe("felix-all-ipam-pools")!.Family));
    }

    [Fact]
    public async Task One_added_member_is_one_add_line()
    {
        var sets = await ProgramAsync();

        sets.AddMembers(Db.Name, Hosts("10.0.0.9"));
        await sets.ApplyUpdatesAsync(CancellationToken.None);

        Assert.Equal(["add felix-v4-db 10.0.0.9"], Lines(_fake.RestoreInputs[^1]));
        Assert.Equal(1, _harness.Counter("felix_ipset_lines_executed") - _harness.LinesAfterProgram);
    }

    [Fact]
    public async Task One_removed_member_is_one_tolerant_del_line()
    {
        var sets = await ProgramAsync();

        sets.RemoveMembers(Db.Name, Hosts("10.0.0.2"));
        await sets.ApplyUpdatesAsync(CancellationToken.None);

        Assert.Equal(["del felix-v4-db 10.0.0.2 -exist"], Lines(_fake.RestoreInputs[^1]));
        Assert.Equal(["10.0.0.1"], _fake.Members(Db.Name));
    }

    [Fact]
    public async Task Replacing_the_members_writes_only_the_difference()
    {
        var sets = await ProgramAsync();

        sets.AddOrReplaceSet(Db, Hosts("10.0.0.2", "10.0.0.3"));
        await sets.ApplyUpdatesAsync(CancellationToken.None);

        Assert.Equal(["del felix-v4-db 10.0.0.1 -exist", "add felix-v4-db 10.0.0.3"], Lines(_fake.RestoreInputs[^1]));
    }

    [Fact]
    public async Task A_member_removed_and_added_back_before_the_apply_costs_nothing()
    {
        var sets = await ProgramAsync();
        var restores = _fake.RestoreInputs.Count;

        sets.RemoveMembers(Db.Name, Hosts("10.0.0.1"));
        sets.AddMembers(Db.Name, Hosts("10.0.0.1"));
        sets.AddMembers(Db.Name, Hosts("10.0.0.7"));
        sets.RemoveMembers(Db.Name, Hosts("10.0.0.7"));

        Assert.False(sets.HasPendingWork);
        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));
        Assert.Equal(restores, _fake.RestoreInputs.Count);
    }

    [Fact]
    public async Task A_second_manager_over_the_same_kernel_state_writes_nothing()
    {
        await ProgramAsync();

        var restarted = _harness.NewSets();
        Define(restarted);
        Assert.True(await restarted.ApplyUpdatesAsync(CancellationToken.None));
        Assert.True(await restarted.ApplyDeletionsAsync(CancellationToken.None));

        Assert.Single(_fake.RestoreInputs);
        Assert.Equal(2, _fake.Calls.Count(c => c.Subcommand == "save"));
        Assert.Equal(2, _harness.Counter("felix_ipsets_felix"));
    }

    [Fact]
    public async Task A_set_nothing_wants_is_destroyed_only_by_the_deletion_apply()
    {
        var sets = await ProgramAsync();

        sets.RemoveSet(DbUsers.Name);
        await sets.ApplyUpdatesAsync(CancellationToken.None);
        Assert.True(_fake.Exists(DbUsers.Name));

        Assert.True(await sets.ApplyDeletionsAsync(CancellationToken.None));
        Assert.False(_fake.Exists(DbUsers.Name));
        Assert.Equal(["destroy felix-v4-db-users"], Lines(_fake.RestoreInputs[^1]));
        Assert.False(sets.HasPendingWork);
        Assert.Equal(1, _harness.Counter("felix_ipsets_felix"));
    }

    [Fact]
    public async Task A_set_wanted_again_before_it_is_destroyed_is_rebuilt_and_swapped_in()
    {
        var sets = await ProgramAsync();

        sets.RemoveSet(Db.Name);
        sets.AddOrReplaceSet(Db, Hosts("10.0.0.5"));
        await sets.ApplyUpdatesAsync(CancellationToken.None);
        await sets.ApplyDeletionsAsync(CancellationToken.None);

        Assert.Equal(["10.0.0.5"], _fake.Members(Db.Name));
        Assert.Contains("swap felix-tmp-v4-db felix-v4-db", Lines(_fake.RestoreInputs[^1]));
        Assert.DoesNotContain(_fake.SetNames(), IpSetNames.IsTemporary);
    }

    [Fact]
    public async Task Sets_of_other_programs_are_never_read_written_or_destroyed()
    {
        _fake.CreateSet("cali40-foo");
        _fake.AddMember("cali40-foo", "10.1.1.1");
        _fake.CreateSet("felixfoo", "hash:net");
        _fake.AddMember("felixfoo", "10.2.0.0/16");
        var before = ForeignSnapshot();
        var sets = await ProgramAsync();

        sets.RemoveSet(Db.Name);
        sets.RequestReadBack();
        await sets.ApplyUpdatesAsync(CancellationToken.None);
        await sets.ApplyDeletionsAsync(CancellationToken.None);

        Assert.Equal(before, ForeignSnapshot());
        Assert.DoesNotContain(_fake.RestoreInputs.SelectMany(Lines), l => l.Contains("cali40-foo", StringComparison.Ordinal) || l.Contains("felixfoo", StringComparison.Ordinal));
        Assert.Equal(3, _harness.Counter("felix_ipsets_total"));
    }

    [Fact]
    public async Task Nothing_is_written_when_nothing_changed()
    {
        var sets = await ProgramAsync();
        var calls = _fake.Calls.Count;

        Assert.False(sets.HasPendingWork);
        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));
        Assert.True(await sets.ApplyDeletionsAsync(CancellationToken.None));

        Assert.Equal(calls, _fake.Calls.Count);
    }

    [Fact]
    public async Task Only_member_changes_to_sets_in_the_kernel_may_run_alongside_the_rules()
    {
        var sets = _harness.NewSets();
        Define(sets);
        Assert.False(sets.ChangesOnlyMembers); // the first apply reads back and creates
        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));
        Assert.True(sets.ChangesOnlyMembers); // nothing to do

        sets.AddMembers(Db.Name, Hosts("10.0.0.9"));
        sets.RemoveMembers(DbUsers.Name, Hosts("10.0.1.1"));
        Assert.True(sets.ChangesOnlyMembers);

        sets.AddOrReplaceSet(Tag("web"), Hosts("10.0.2.1"));
        Assert.False(sets.ChangesOnlyMembers); // a rule may match on the new set
        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));
        Assert.True(sets.ChangesOnlyMembers);

        sets.AddOrReplaceSet(Tag("web", maxSize: 2048), Hosts("10.0.2.1"));
        Assert.False(sets.ChangesOnlyMembers); // rewritten with another maxelem
        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));

        sets.RequestReadBack();
        Assert.False(sets.ChangesOnlyMembers); // a read-back may find a set to create
    }

    private List<string> ForeignSnapshot() =>
        [.. _fake.Snapshot().Split('\n').Where(l => l.Contains("cali40-foo", StringComparison.Ordinal) || l.Contains("felixfoo", StringComparison.Ordinal))];

    private async Task<IpSets> ProgramAsync()
    {
        var sets = _harness.NewSets();
        Define(sets);
        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));
        _harness.LinesAfterProgram = _harness.Counter("felix_ipset_lines_executed");
        return sets;
    }

    private static void Define(IpSets sets)
    {
        sets.AddOrReplaceSet(Db, Hosts("10.0.0.1", "10.0.0.2"));
        sets.AddOrReplaceSet(DbUsers, Hosts("10.0.1.1"));
    }

    private static IpSetSpec Tag(string tag, IpVersion family = IpVersion.V4, int maxSize = 1_048_576) =>
        new($"felix-v{(int)family}-{tag}", IpSetType.HashIp, family, maxSize);

    private static IPNetwork[] Hosts(params string[] addresses) => [.. addresses.Select(a => IpSetSpec.Host(IPAddress.Parse(a)))];

    private static List<string> Lines(string input) => [.. input.Split('\n').Where(l => l.Length > 0)];

    /// <summary>A rewrite adds members in hash order; sort the add lines in place so the batch compares exactly.</summary>
    private static List<string> SortedAdds(List<string> lines)
    {
        var adds = lines.Where(l => l.StartsWith("add ", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        var first = lines.FindIndex(l => l.StartsWith("add ", StringComparison.Ordinal));
        return first < 0 ? lines : [.. lines.Take(first), .. adds, .. lines.Skip(first + adds.Count)];
    }
}
