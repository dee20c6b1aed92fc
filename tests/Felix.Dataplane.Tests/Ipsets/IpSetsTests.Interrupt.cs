namespace Felix.Dataplane.Tests.Ipsets;

/// <summary>
/// A periodic read-back waits for member changes (so they may run alongside the iptables apply),
/// and gives way to new input when it runs only because all was idle; one overdue by a whole
/// refresh interval, or one the sets need, runs first whatever waits.
/// </summary>
public sealed partial class IpSetsTests
{
    private static readonly TimeSpan Refresh = IpSetsHarness.Options.RefreshInterval;

    [Fact]
    public async Task A_due_read_back_waits_for_member_changes_and_runs_at_the_next_apply_without_any()
    {
        var sets = await ProgramAsync();
        _harness.Clock.Advance(Refresh);
        sets.AddMembers(Db.Name, Hosts("10.0.0.3"));
        var saves = Saves();

        Assert.True(sets.ChangesOnlyMembers);
        Assert.True(await sets.ApplyUpdatesAsync(othersWriting: false, CancellationToken.None, CancellationToken.None));
        Assert.Equal(saves, Saves());
        Assert.Contains("10.0.0.3", _fake.Members(Db.Name)!);

        Assert.True(await sets.ApplyUpdatesAsync(othersWriting: true, CancellationToken.None, CancellationToken.None));
        Assert.Equal(saves, Saves());
        Assert.True(await sets.ApplyUpdatesAsync(othersWriting: false, CancellationToken.None, CancellationToken.None));
        Assert.Equal(saves + 1, Saves());
        Assert.False(sets.HasPendingWork);
    }

    [Fact]
    public async Task A_read_back_overdue_by_a_refresh_interval_runs_before_the_member_changes()
    {
        var sets = await ProgramAsync();
        _harness.Clock.Advance(Refresh * 2);
        sets.AddMembers(Db.Name, Hosts("10.0.0.3"));
        var saves = Saves();

        Assert.False(sets.ChangesOnlyMembers);
        Assert.True(await sets.ApplyUpdatesAsync(othersWriting: true, CancellationToken.None, CancellationToken.None));
        Assert.Equal(saves + 1, Saves());
    }

    [Fact]
    public async Task An_idle_read_back_gives_way_to_new_input_and_stays_due()
    {
        var sets = await ProgramAsync();
        _harness.Clock.Advance(Refresh);
        using var newInput = new CancellationTokenSource();
        await newInput.CancelAsync();
        var saves = Saves();

        Assert.True(await sets.ApplyUpdatesAsync(othersWriting: false, newInput.Token, CancellationToken.None));

        Assert.Equal(saves, Saves());
        Assert.Equal(1, _harness.Counter("felix_ipset_saves_interrupted"));
        Assert.True(sets.ReadBackDue);
    }

    [Fact]
    public async Task A_needed_read_back_does_not_give_way_to_new_input()
    {
        var sets = await ProgramAsync();
        sets.RequestReadBack();
        using var newInput = new CancellationTokenSource();
        await newInput.CancelAsync();
        var saves = Saves();

        Assert.False(sets.ChangesOnlyMembers);
        Assert.True(await sets.ApplyUpdatesAsync(othersWriting: false, newInput.Token, CancellationToken.None));

        Assert.Equal(saves + 1, Saves());
    }

    private int Saves() => _fake.Calls.Count(c => c.Subcommand == "save");
}
