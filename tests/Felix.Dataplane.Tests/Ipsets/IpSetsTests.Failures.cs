using System.Net;
using Felix.Dataplane.Exec;
using Felix.Dataplane.Ipsets;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Tests.Ipsets;

public sealed partial class IpSetsTests
{
    [Fact]
    public async Task A_refused_delta_is_followed_by_a_read_back_and_a_rewrite_of_that_set()
    {
        var sets = await ProgramAsync();
        _fake.BeforeRestore = _ =>
        {
            _fake.BeforeRestore = null;
            _fake.AddMember(Db.Name, "10.0.0.9");
        };

        sets.AddMembers(Db.Name, Hosts("10.0.0.9"));
        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));

        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.9"], _fake.Members(Db.Name));
        Assert.Equal(
            ["create felix-tmp-v4-db hash:ip family inet hashsize 1024 maxelem 1048576", "add felix-tmp-v4-db 10.0.0.1",
                "add felix-tmp-v4-db 10.0.0.2", "add felix-tmp-v4-db 10.0.0.9", "swap felix-tmp-v4-db felix-v4-db", "destroy felix-tmp-v4-db"],
            SortedAdds(Lines(_fake.RestoreInputs[^1])));
        Assert.Equal(1, _harness.Counter("felix_ipset_errors"));
        Assert.Equal(2, _fake.Calls.Count(c => c.Subcommand == "save"));
    }

    [Fact]
    public async Task Lines_applied_before_a_refusal_are_not_written_again()
    {
        var sets = await ProgramAsync();
        _fake.BeforeRestore = _ =>
        {
            _fake.BeforeRestore = null;
            _fake.AddMember(DbUsers.Name, "10.0.1.9");
        };

        sets.AddMembers(Db.Name, Hosts("10.0.0.8"));
        sets.AddMembers(DbUsers.Name, Hosts("10.0.1.9"));
        await sets.ApplyUpdatesAsync(CancellationToken.None);

        Assert.Equal(["add felix-v4-db 10.0.0.8", "add felix-v4-db-users 10.0.1.9"], Lines(_fake.RestoreInputs[^2]));
        Assert.DoesNotContain(Lines(_fake.RestoreInputs[^1]), l => l.Contains("felix-v4-db ", StringComparison.Ordinal));
        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.8"], _fake.Members(Db.Name));
        Assert.Equal(["10.0.1.1", "10.0.1.9"], _fake.Members(DbUsers.Name));
    }

    [Fact]
    public async Task A_failing_ipset_is_retried_after_a_read_back_each_time()
    {
        var sets = _harness.NewSets();
        Define(sets);
        _fake.FailNext(2, command: "restore");

        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));

        Assert.Equal(3, _fake.Calls.Count(c => c.Subcommand == "save"));
        Assert.Equal(["10.0.0.1", "10.0.0.2"], _fake.Members(Db.Name));
        Assert.Null(sets.FailingSince);
        Assert.Equal(2, _harness.Counter("felix_ipset_errors"));
    }

    [Fact]
    public async Task A_tool_that_cannot_run_is_a_failure_like_any_other()
    {
        var sets = _harness.NewSets();
        Define(sets);
        var thrown = 0;
        _fake.BeforeRestore = _ =>
        {
            if (thrown++ == 0)
            {
                throw new CommandException("ipset did not finish within 60 s and was killed");
            }
        };

        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));
        Assert.Equal(["10.0.0.1", "10.0.0.2"], _fake.Members(Db.Name));
    }

    [Fact]
    public async Task Persistent_refusal_reports_failure_quotes_the_refused_line_and_recovers_later()
    {
        var sets = await ProgramAsync();
        sets.RemoveMembers(Db.Name, Hosts("10.0.0.1"));
        sets.AddMembers(DbUsers.Name, Hosts("10.0.1.2"));
        _fake.FailNext(100, "ipset v7.17: Error in line 2: Kernel error received: Cannot allocate memory\n", "restore");

        Assert.False(await sets.ApplyUpdatesAsync(CancellationToken.None));

        Assert.NotNull(sets.FailingSince);
        var error = Assert.Single(_harness.Log.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains("refused the batch 10 times", error.Message, StringComparison.Ordinal);
        // The first refusal named the db-users line, so every later attempt rewrites that set whole.
        Assert.True(error.Message.Contains(">2: create felix-tmp-v4-db-users", StringComparison.Ordinal), error.Message);
        Assert.Equal(10, _harness.Counter("felix_ipset_errors"));

        _fake.FailNext(0);
        Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None));
        Assert.Null(sets.FailingSince);
        Assert.Equal(["10.0.0.2"], _fake.Members(Db.Name));
        Assert.Equal(["10.0.1.1", "10.0.1.2"], _fake.Members(DbUsers.Name));
    }

    [Fact]
    public async Task A_set_a_rule_still_uses_is_kept_without_failing_and_destroyed_once_free()
    {
        var sets = await ProgramAsync();
        sets.AddOrReplaceSet(Tag("web"), Hosts("10.0.2.1"));
        await sets.ApplyUpdatesAsync(CancellationToken.None);
        _fake.SetReferences(DbUsers.Name, 1);

        sets.RemoveSet(Db.Name);
        sets.RemoveSet(DbUsers.Name);
        sets.RemoveSet("felix-v4-web");
        Assert.True(await sets.ApplyDeletionsAsync(CancellationToken.None));

        Assert.Equal([DbUsers.Name], _fake.SetNames());
        Assert.Contains(_harness.Log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains(DbUsers.Name, StringComparison.Ordinal));
        Assert.False(sets.HasPendingWork);

        _fake.SetReferences(DbUsers.Name, 0);
        _harness.Clock.Advance(TimeSpan.FromSeconds(10));
        Assert.True(sets.HasPendingWork);
        Assert.True(await sets.ApplyDeletionsAsync(CancellationToken.None));
        Assert.Empty(_fake.SetNames());
        Assert.Equal(0, _harness.Counter("felix_ipsets_felix"));
    }

    [Fact]
    public async Task A_set_in_use_is_tried_once_per_apply_even_with_no_retry_delay()
    {
        var sets = _harness.NewSets(IpSetsHarness.Options with { InUseRetry = TimeSpan.Zero });
        Define(sets);
        await sets.ApplyUpdatesAsync(CancellationToken.None);
        _fake.SetReferences(Db.Name, 1);
        var restores = _fake.RestoreInputs.Count;

        sets.RemoveSet(Db.Name);
        sets.RemoveSet(DbUsers.Name);
        Assert.True(await sets.ApplyDeletionsAsync(CancellationToken.None));

        Assert.Equal([Db.Name], _fake.SetNames());
        Assert.Equal(restores + 2, _fake.RestoreInputs.Count);
    }

    [Fact]
    public async Task Destroys_are_paced_per_apply()
    {
        var sets = _harness.NewSets(IpSetsHarness.Options with { MaxDestroysPerApply = 100 });
        for (var i = 0; i < 250; i++)
        {
            _fake.CreateSet($"felix-v4-stale{i}");
        }
        await sets.ApplyUpdatesAsync(CancellationToken.None);

        var applies = 0;
        while (sets.HasPendingWork && applies < 10)
        {
            Assert.True(await sets.ApplyDeletionsAsync(CancellationToken.None));
            applies++;
        }

        Assert.Equal(3, applies);
        Assert.Empty(_fake.SetNames());
        Assert.All(_fake.RestoreInputs, input => Assert.True(Lines(input).Count <= 100));
    }

    [Fact]
    public void Names_and_members_the_kernel_would_refuse_never_reach_ipset()
    {
        var sets = _harness.NewSets();

        Assert.Throws<ArgumentException>(() => Tag("a-tag-name-of-23-chars!"));
        Assert.Throws<ArgumentException>(() => new IpSetSpec("felix-v4-" + new string('a', 23), IpSetType.HashIp, IpVersion.V4, 10));
        Assert.Throws<ArgumentException>(() => new IpSetSpec("cali-db", IpSetType.HashIp, IpVersion.V4, 10));
        Assert.Throws<ArgumentException>(() => new IpSetSpec("felix-tmp-v4-db", IpSetType.HashIp, IpVersion.V4, 10));
        Assert.Throws<ArgumentException>(() => sets.AddOrReplaceSet(Db, Hosts("fd00::1")));
        Assert.Throws<ArgumentException>(() => sets.AddOrReplaceSet(Db, [IPNetwork.Parse("10.0.0.0/24")]));
        Assert.Throws<ArgumentException>(() => sets.AddOrReplaceSet(Pools, [IPNetwork.Parse("0.0.0.0/0")]));
        sets.AddOrReplaceSet(Db, Hosts("10.0.0.1"));
        Assert.Throws<ArgumentException>(() => sets.AddMembers(Db.Name, Hosts("fd00::1")));
        Assert.Throws<InvalidOperationException>(() => sets.AddMembers("felix-v4-unknown", Hosts("10.0.0.1")));

        Assert.Empty(_fake.Calls);
        Assert.Equal(["10.0.0.1"], sets.DesiredMembers(Db.Name)!.Select(m => m.BaseAddress.ToString()));
    }
}
