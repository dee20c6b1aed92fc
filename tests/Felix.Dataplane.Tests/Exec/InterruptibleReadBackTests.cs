using Felix.Dataplane.Exec;

namespace Felix.Dataplane.Tests.Exec;

/// <summary>The read-back rule shared by the iptables tables and the ipsets, and how a plan is carried out.</summary>
public sealed class InterruptibleReadBackTests
{
    [Theory]
    [InlineData(true, false, false, false, "Run")]
    [InlineData(true, true, true, false, "Run")]
    [InlineData(false, false, true, false, "Skip")]
    [InlineData(false, true, false, false, "Skip")]
    [InlineData(false, true, true, false, "RunInterruptible")]
    [InlineData(false, true, false, true, "Run")]
    [InlineData(false, true, true, true, "Run")]
    public void Needed_runs_due_waits_for_changes_idle_may_be_stopped_overdue_runs_through(bool needed, bool due, bool idle, bool overdue, string plan) =>
        Assert.Equal(plan, InterruptibleReadBack.Plan(needed, due, idle, overdue).ToString());

    [Fact]
    public async Task An_interruptible_read_back_stopped_while_it_runs_reports_null_and_tells_its_owner()
    {
        using var interrupt = new CancellationTokenSource();
        var told = 0;

        var result = await InterruptibleReadBack.RunAsync(ReadBackPlan.RunInterruptible, async token =>
        {
            await interrupt.CancelAsync();
            token.ThrowIfCancellationRequested();
            return true;
        }, () => told++, interrupt.Token, CancellationToken.None);

        Assert.Null(result);
        Assert.Equal(1, told);
    }

    [Fact]
    public async Task A_read_back_that_runs_through_ignores_the_interrupt_and_a_skipped_one_is_in_step()
    {
        using var interrupt = new CancellationTokenSource();
        await interrupt.CancelAsync();
        var runs = 0;
        Task<bool> ReadBack(CancellationToken token)
        {
            token.ThrowIfCancellationRequested();
            runs++;
            return Task.FromResult(false);
        }

        Assert.False(await InterruptibleReadBack.RunAsync(ReadBackPlan.Run, ReadBack, () => Assert.Fail("not interruptible"), interrupt.Token, CancellationToken.None));
        Assert.True(await InterruptibleReadBack.RunAsync(ReadBackPlan.Skip, ReadBack, () => Assert.Fail("skipped"), interrupt.Token, CancellationToken.None));
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task Cancelling_the_apply_is_not_an_interrupt()
    {
        using var interrupt = new CancellationTokenSource();
        using var stop = new CancellationTokenSource();
        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => InterruptibleReadBack.RunAsync(ReadBackPlan.RunInterruptible, token =>
        {
            token.ThrowIfCancellationRequested();
            return Task.FromResult(true);
        }, () => Assert.Fail("not an interrupt"), interrupt.Token, stop.Token));
    }
}
