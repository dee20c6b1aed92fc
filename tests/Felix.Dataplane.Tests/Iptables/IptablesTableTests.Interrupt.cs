namespace Felix.Dataplane.Tests.Iptables;

/// <summary>
/// A periodic read-back run only because the table was idle gives way to a change that arrives
/// while it runs; one the table needs (at start, after a failure) or one overdue by a whole
/// refresh interval does not.
/// </summary>
public sealed partial class IptablesTableTests
{
    [Fact]
    public async Task A_periodic_read_back_is_stopped_by_a_waiting_change_and_runs_again_at_the_next_idle_apply()
    {
        var table = ClockedTable(refresh: TimeSpan.FromSeconds(10));
        Define(table);
        await table.ApplyAsync(CancellationToken.None);
        var saves = Saves();
        _clock.Advance(TimeSpan.FromSeconds(5));
        using var newInput = new CancellationTokenSource();
        _fake.BeforeSave = _ => newInput.Cancel();

        Assert.True(await table.ApplyAsync(othersWriting: false, newInput.Token, CancellationToken.None));

        Assert.Equal(saves, Saves());
        Assert.Equal(1, Counter("felix_iptables_saves_interrupted"));
        Assert.True(table.ReadBackDue);
        Assert.True(table.HasPendingWork);

        _fake.BeforeSave = null;
        Assert.True(await table.ApplyAsync(othersWriting: false, CancellationToken.None, CancellationToken.None));
        Assert.Equal(saves + 1, Saves());
        Assert.False(table.ReadBackDue);
    }

    [Fact]
    public async Task A_read_back_the_table_needs_is_not_stopped_by_a_waiting_change()
    {
        var table = ClockedTable(refresh: TimeSpan.FromSeconds(10));
        Define(table);
        await table.ApplyAsync(CancellationToken.None);
        table.RequestReadBack();
        using var newInput = new CancellationTokenSource();
        await newInput.CancelAsync();
        var saves = Saves();

        Assert.True(await table.ApplyAsync(othersWriting: false, newInput.Token, CancellationToken.None));

        Assert.Equal(saves + 1, Saves());
        Assert.Equal(0, Counter("felix_iptables_saves_interrupted"));
    }

    [Fact]
    public async Task A_read_back_overdue_by_a_refresh_interval_is_not_stopped_by_a_waiting_change()
    {
        var table = ClockedTable(refresh: TimeSpan.FromSeconds(10));
        Define(table);
        await table.ApplyAsync(CancellationToken.None);
        using var newInput = new CancellationTokenSource();
        await newInput.CancelAsync();
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(await table.ApplyAsync(othersWriting: false, newInput.Token, CancellationToken.None));
        var saves = Saves();

        // Due at 5 s at the latest, now overdue by more than the 10 s interval.
        _clock.Advance(TimeSpan.FromSeconds(11));
        Assert.True(await table.ApplyAsync(othersWriting: false, newInput.Token, CancellationToken.None));

        Assert.Equal(saves + 1, Saves());
        Assert.False(table.ReadBackDue);
    }
}
