using Felix.Dataplane.Iptables;
using Felix.Dataplane.Tests.Fakes;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Felix.Dataplane.Tests.Iptables;

/// <summary>
/// What large tables cost and how the table works around it: read-backs spaced by their measured
/// cost, read-backs that wait for other tables' writes, and the listing that spares iptables-nft
/// its per-line search of the chains a large batch names.
/// </summary>
public sealed partial class IptablesTableTests
{
    [Fact]
    public async Task Post_write_read_backs_wait_at_least_ten_times_what_the_last_read_back_took()
    {
        var table = ClockedTable(refresh: TimeSpan.FromSeconds(100));
        _fake.SaveDuration = TimeSpan.FromSeconds(2);

        // The back-off (1 s, 2 s, 4 s, …) takes over once it is longer; then the refresh interval.
        Assert.Equal([20, 40, 60, 80, 100, 132, 196, 296], await ReadBackTimesAsync(table, seconds: 300));
    }

    [Fact]
    public async Task A_read_back_costing_a_tenth_of_the_refresh_interval_leaves_only_the_periodic_ones()
    {
        var table = ClockedTable(refresh: TimeSpan.FromSeconds(100));
        _fake.SaveDuration = TimeSpan.FromSeconds(13);

        Assert.Equal([100, 200], await ReadBackTimesAsync(table, seconds: 250));
    }

    [Fact]
    public async Task After_reading_back_an_empty_table_the_first_write_s_cost_spaces_the_read_back()
    {
        var table = ClockedTable(refresh: TimeSpan.FromSeconds(100));
        _fake.RestoreDuration = TimeSpan.FromSeconds(5);

        Assert.Equal(50, (await ReadBackTimesAsync(table, seconds: 60))[0]);
    }

    [Fact]
    public async Task A_due_read_back_waits_while_another_table_has_changes_to_write()
    {
        var table = ClockedTable(refresh: TimeSpan.FromSeconds(10));
        Define(table);
        await table.ApplyAsync(CancellationToken.None);
        var saves = Saves();

        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(table.ReadBackDue);
        Assert.False(table.HasChangesToWrite);
        await table.ApplyAsync(othersWriting: true, CancellationToken.None);
        Assert.Equal(saves, Saves());

        await table.ApplyAsync(othersWriting: false, CancellationToken.None);
        Assert.Equal(saves + 1, Saves());
    }

    [Fact]
    public async Task A_table_reads_back_ahead_of_its_apply_only_when_it_must()
    {
        var table = ClockedTable(refresh: TimeSpan.FromSeconds(10));
        Define(table);

        Assert.True(await table.ReadBackIfNeededAsync(CancellationToken.None));
        Assert.Equal(1, Saves());
        Assert.True(table.HasChangesToWrite);
        Assert.Empty(_fake.RestoreInputs);

        await table.ApplyAsync(CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(await table.ReadBackIfNeededAsync(CancellationToken.None));
        Assert.Equal(1, Saves());

        table.RequestReadBack();
        Assert.True(await table.ReadBackIfNeededAsync(CancellationToken.None));
        Assert.Equal(2, Saves());
    }

    [Fact]
    public async Task A_large_batch_into_an_empty_nft_table_lists_first_and_moves_the_hooks_in_a_second_batch()
    {
        var table = NewTable();
        DefineMany(table, 1500);
        table.SetHooks([new Hook("FORWARD", JumpRule("felix-to-00000000000"))]);

        Assert.True(await table.ApplyAsync(CancellationToken.None));

        Assert.Equal(2, _fake.RestoreInputs.Count);
        Assert.Equal(["*filter", "-S"], _fake.RestoreInputs[0].Split('\n')[..2]);
        Assert.DoesNotContain("FORWARD", _fake.RestoreInputs[0], StringComparison.Ordinal);
        Assert.Equal([$"-I FORWARD 1 {Hashed(JumpRule("felix-to-00000000000"))}"], BatchLines(_fake.RestoreInputs[1]));
        Assert.Equal(1500, _fake.ChainNames(V4, Filter).Count(c => c.StartsWith("felix-", StringComparison.Ordinal)));
        Assert.Single(_fake.Chain(V4, Filter, "FORWARD")!);
        Assert.Equal(1500, Counter("felix_iptables_chains"));
        Assert.Equal(3001, Counter("felix_iptables_lines_executed"));
        Assert.False(table.HasPendingWork);
    }

    [Fact]
    public async Task Both_batches_of_a_listed_write_space_the_first_read_back()
    {
        var table = ClockedTable(refresh: TimeSpan.FromSeconds(100));
        DefineMany(table, 1500);
        table.SetHooks([new Hook("FORWARD", JumpRule("felix-to-00000000000"))]);
        _fake.RestoreDuration = TimeSpan.FromSeconds(2);

        await table.ApplyAsync(CancellationToken.None);

        Assert.Equal(2, _fake.RestoreInputs.Count);
        _clock.Advance(TimeSpan.FromSeconds(39));
        Assert.False(table.ReadBackDue);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(table.ReadBackDue);
    }

    [Fact]
    public async Task A_refused_listed_batch_is_read_back_and_retried()
    {
        var table = NewTable();
        DefineMany(table, 1500);
        _fake.FailNext(1, tool: FakeIptablesTool.Restore);

        Assert.True(await table.ApplyAsync(CancellationToken.None));

        Assert.Equal(2, _fake.Calls.Count(c => c.Tool == FakeIptablesTool.Save));
        Assert.Equal(1500, _fake.ChainNames(V4, Filter).Count(c => c.StartsWith("felix-", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_small_batch_has_no_listing()
    {
        var table = await ProgramAsync(NewTable());

        table.SetChain(Chain("felix-a", Drop("cali1"), Drop("cali9"), Drop("cali3")));
        await table.ApplyAsync(CancellationToken.None);

        Assert.All(_fake.RestoreInputs, input => Assert.DoesNotContain("\n-S\n", input, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_large_batch_into_a_table_that_costs_more_to_list_has_no_listing()
    {
        _fake.CreateChain(V4, Filter, "DOCKER");
        for (var i = 0; i < 200; i++)
        {
            _fake.AppendRule(V4, Filter, "DOCKER", $"-i docker{i} -j ACCEPT");
        }
        var table = NewTable();
        DefineMany(table, 1500);

        Assert.True(await table.ApplyAsync(CancellationToken.None));

        Assert.DoesNotContain("\n-S\n", Assert.Single(_fake.RestoreInputs), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_large_batch_with_the_legacy_backend_has_no_listing()
    {
        var table = new IptablesTable(TableName.Filter, new IptablesCommands(V4, IptablesBackendKind.Legacy, 10), _fake,
            new IptablesMetrics(Metrics.WithCustomRegistry(_registry)), NullLogger.Instance,
            new IptablesTableOptions { InitialBackoff = TimeSpan.Zero, MaxBackoff = TimeSpan.Zero }, TimeProvider.System);
        DefineMany(table, 1500);

        Assert.True(await table.ApplyAsync(CancellationToken.None));

        Assert.DoesNotContain("\n-S\n", Assert.Single(_fake.RestoreInputs), StringComparison.Ordinal);
    }

    private static void DefineMany(IptablesTable table, int chains)
    {
        for (var i = 0; i < chains; i++)
        {
            table.SetChain(Chain($"felix-to-{i:x11}", Drop($"cali{i:x11}")));
        }
    }

    /// <summary>Programs the usual chains at time 0, then applies every second; the seconds at which a save ran.</summary>
    private async Task<List<double>> ReadBackTimesAsync(IptablesTable table, int seconds)
    {
        Define(table);
        await table.ApplyAsync(CancellationToken.None);
        var saves = Saves();
        var times = new List<double>();
        for (var second = 1; second <= seconds; second++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            await table.ApplyAsync(CancellationToken.None);
            if (Saves() > saves)
            {
                (saves, times) = (Saves(), [.. times, second]);
            }
        }
        return times;
    }
}
