using Felix.Dataplane.Iptables;
using Felix.Dataplane.Tests.Fakes;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Felix.Dataplane.Tests.Iptables;

/// <summary>
/// The table against a semantic fake of iptables: each kind of change costs the lines it must and
/// no more, a restart adopts what is there, drift is repaired, failures are retried after a fresh
/// read-back, and nothing outside the felix chains and hooks is ever touched.
/// </summary>
public sealed partial class IptablesTableTests
{
    private const IpVersion V4 = IpVersion.V4;
    private const string Filter = "filter";

    private readonly FakeIptables _fake = new();
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();

    [Fact]
    public async Task First_apply_programs_chains_and_hooks_in_one_batch()
    {
        var table = NewTable();
        table.SetChain(Chain("felix-a", Drop("cali1"), Drop("cali2")));
        table.SetChain(Chain("felix-b", Jump("felix-a")));
        table.SetHooks([new Hook("FORWARD", JumpRule("felix-b"))]);

        Assert.True(await table.ApplyAsync(CancellationToken.None));

        Assert.Single(_fake.RestoreInputs);
        Assert.Equal(2, _fake.Chain(V4, Filter, "felix-a")!.Count);
        Assert.Equal(JumpRule("felix-b").Hash, RuleHash.Find(Assert.Single(_fake.Chain(V4, Filter, "FORWARD")!)));
        Assert.Equal(6, FakeIptables.CountLines(_fake.RestoreInputs[0]));
    }

    [Fact]
    public async Task A_second_table_over_the_same_kernel_state_writes_nothing()
    {
        await ProgramAsync(NewTable());
        var restores = _fake.RestoreInputs.Count;

        var restarted = NewTable();
        Define(restarted);
        Assert.True(await restarted.ApplyAsync(CancellationToken.None));

        Assert.Equal(restores, _fake.RestoreInputs.Count);
    }

    [Fact]
    public async Task One_changed_rule_is_one_replace_line()
    {
        var table = await ProgramAsync(NewTable());

        table.SetChain(Chain("felix-a", Drop("cali1"), Drop("cali9"), Drop("cali3")));
        await table.ApplyAsync(CancellationToken.None);

        Assert.Equal([$"-R felix-a 2 {Hashed(Drop("cali9"))}"], BatchLines(_fake.RestoreInputs[^1]));
    }

    [Fact]
    public async Task An_appended_rule_is_one_append_line()
    {
        var table = await ProgramAsync(NewTable());

        table.SetChain(Chain("felix-a", Drop("cali1"), Drop("cali2"), Drop("cali3"), Drop("cali4")));
        await table.ApplyAsync(CancellationToken.None);

        Assert.Equal([$"-A felix-a {Hashed(Drop("cali4"))}"], BatchLines(_fake.RestoreInputs[^1]));
    }

    [Fact]
    public async Task A_removed_chain_is_flushed_and_deleted_after_the_rule_that_jumped_to_it_changes()
    {
        var table = await ProgramAsync(NewTable());

        table.RemoveChain("felix-a");
        table.SetChain(Chain("felix-b", Drop("cali5")));
        await table.ApplyAsync(CancellationToken.None);

        Assert.Equal([$"-R felix-b 1 {Hashed(Drop("cali5"))}", "-F felix-a", "-X felix-a"], BatchLines(_fake.RestoreInputs[^1]));
        Assert.Null(_fake.Chain(V4, Filter, "felix-a"));
    }

    [Fact]
    public async Task A_chain_someone_else_jumps_to_is_flushed_but_kept()
    {
        var table = await ProgramAsync(NewTable());
        _fake.AppendRule(V4, Filter, "INPUT", "-j felix-a");
        await table.TryReadBackAsync(CancellationToken.None);

        table.RemoveChain("felix-a");
        table.SetChain(Chain("felix-b", Drop("cali5")));
        Assert.True(await table.ApplyAsync(CancellationToken.None));

        Assert.Equal([], _fake.Chain(V4, Filter, "felix-a"));
        Assert.Contains("-j felix-a", _fake.Chain(V4, Filter, "INPUT")!);
    }

    [Fact]
    public async Task A_hook_moved_down_by_someone_else_is_put_back_on_top_without_touching_their_rule()
    {
        var table = await ProgramAsync(NewTable());
        _fake.CreateChain(V4, Filter, "DOCKER-USER");
        _fake.InsertRule(V4, Filter, "FORWARD", 1, "-j DOCKER-USER");

        table.RequestReadBack();
        await table.ApplyAsync(CancellationToken.None);

        Assert.Equal(["-D FORWARD 2", $"-I FORWARD 1 {Hashed(JumpRule("felix-b"))}"], BatchLines(_fake.RestoreInputs[^1]));
        Assert.Equal("-j DOCKER-USER", _fake.Chain(V4, Filter, "FORWARD")![1]);
    }

    [Fact]
    public async Task Drift_in_our_chains_is_repaired_on_read_back()
    {
        var table = await ProgramAsync(NewTable());
        _fake.DeleteRule(V4, Filter, "felix-a", 1);
        _fake.InsertRule(V4, Filter, "felix-b", 1, "-j ACCEPT");
        _fake.DeleteRule(V4, Filter, "FORWARD", 1);
        var expected = _fake.Snapshot(V4, Filter);

        table.RequestReadBack();
        await table.ApplyAsync(CancellationToken.None);

        Assert.Equal(
            [$"-I felix-a 1 {Hashed(Drop("cali1"))}", "-D felix-b 1", $"-I FORWARD 1 {Hashed(JumpRule("felix-b"))}"],
            BatchLines(_fake.RestoreInputs[^1]));
        Assert.NotEqual(expected, _fake.Snapshot(V4, Filter));
        await AssertMatchesDefinitionAsync();
    }

    [Fact]
    public async Task Foreign_chains_and_rules_and_their_counters_stay_byte_identical()
    {
        _fake.CreateChain(V4, Filter, "DOCKER-USER");
        _fake.AppendRule(V4, Filter, "DOCKER-USER", "-s 10.9.0.0/16 -j DROP");
        _fake.AppendRule(V4, Filter, "FORWARD", "-i eth0 -j ACCEPT");
        _fake.SetRuleCounters(V4, Filter, "FORWARD", 1, "[12:3456]");
        var foreign = ForeignLines();

        var table = await ProgramAsync(NewTable());
        table.SetChain(Chain("felix-a", Drop("cali7")));
        table.RemoveChain("felix-b");
        table.SetHooks([]);
        await table.ApplyAsync(CancellationToken.None);

        Assert.Equal(foreign, ForeignLines());
    }
}
