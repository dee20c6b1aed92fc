using Felix.Agent.Calculation;
using Felix.Agent.Dataplane;
using Felix.Dataplane.Tests.Fakes;

namespace Felix.Agent.Tests.Dataplane;

/// <summary>
/// When the driver applies, all on the fake clock: bursts coalesce, applies are at least
/// MinApplyInterval apart, a failed apply is retried after a delay that doubles (new updates do
/// not wait for it), and the watchdog is pinged at half its interval.
/// </summary>
public class DataplaneDriverPacingTests
{
    private static readonly DriverOptions Defaults = new();
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(1);

    [Fact]
    public async Task Batches_that_queue_while_an_apply_runs_are_coalesced_into_the_next_apply()
    {
        // No throttle: only coalescing can keep the queued batches to one apply.
        await using var host = new DriverHarness(new HarnessOptions { Driver = new DriverOptions { MinApplyInterval = TimeSpan.Zero } });
        await host.StartAsync();
        var seed = new SeedCluster();
        await host.SendAsync(seed.Snapshot());
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Commands.BeforeRun = async _ =>
        {
            entered.TrySetResult();
            await release.Task;
        };

        host.Send(RemoteDbMember(seed, 1));
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        for (var i = 2; i <= 10; i++)
        {
            host.Send(RemoteDbMember(seed, i));
        }
        host.Commands.BeforeRun = null;
        release.SetResult();
        await host.SettleAsync();

        Assert.Equal(3, host.Applies);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => $"10.0.0.{i}").Append("192.168.0.1").Order(StringComparer.Ordinal),
            host.Commands.Ipset.Members("felix-v4-db")!.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_batch_right_after_an_apply_waits_for_the_min_apply_interval()
    {
        await using var host = new DriverHarness();
        await host.StartAsync();
        var seed = new SeedCluster();
        await host.SendAsync(seed.Snapshot());

        await host.SendAsync(RemoteDbMember(seed, 9));
        await host.AdvanceAsync(Defaults.MinApplyInterval - Tick);

        Assert.Equal(1, host.Applies);
        Assert.DoesNotContain("10.0.0.9", host.Commands.Ipset.Members("felix-v4-db")!);

        await host.AdvanceAsync(Tick);

        Assert.Equal(2, host.Applies);
        Assert.Contains("10.0.0.9", host.Commands.Ipset.Members("felix-v4-db")!);
    }

    [Fact]
    public async Task A_failed_apply_is_retried_after_a_delay_that_doubles()
    {
        await using var host = new DriverHarness();
        await host.StartAsync();
        host.Commands.Iptables.FailNext(1000, tool: FakeIptablesTool.Restore);
        await host.SendAsync(new SeedCluster().Snapshot());
        Assert.Equal(1, host.Applies);

        var delay = Defaults.InitialRetryDelay;
        for (var failed = 1; failed <= 3; failed++)
        {
            await host.AdvanceAsync(delay - Tick);
            Assert.Equal(failed, host.Applies);
            await host.AdvanceAsync(Tick);
            Assert.Equal(failed + 1, host.Applies);
            delay *= 2;
        }

        host.Commands.Iptables.FailNext(0);
        await host.AdvanceAsync(delay);
        Assert.Equal(5, host.Applies);
        Assert.Equal(1, host.Count("READY=1"));
        Assert.NotNull(host.Commands.Iptables.Chain(IpVersion.V4, "filter", "felix-p-db-i"));
    }

    [Fact]
    public async Task New_updates_are_applied_without_waiting_for_the_retry_delay()
    {
        await using var host = new DriverHarness();
        await host.StartAsync();
        var seed = new SeedCluster();
        host.Commands.Iptables.FailNext(1000, tool: FakeIptablesTool.Restore);
        await host.SendAsync(seed.Snapshot());
        await host.AdvanceAsync(Defaults.MinApplyInterval);
        Assert.Equal(1, host.Applies);

        await host.SendAsync(RemoteDbMember(seed, 7));

        Assert.Equal(2, host.Applies);
        Assert.Contains("10.0.0.7", host.Commands.Ipset.Members("felix-v4-db")!);
    }

    [Fact]
    public async Task The_watchdog_is_pinged_at_half_its_interval()
    {
        var interval = TimeSpan.FromSeconds(10);
        await using var host = new DriverHarness(new HarnessOptions { Driver = new DriverOptions { Watchdog = interval } });
        await host.StartAsync();
        Assert.Equal(1, host.Count("WATCHDOG=1"));

        // Busy or idle, the pings keep their pace.
        await host.SendAsync(new SeedCluster().Snapshot());
        for (var pings = 1; pings <= 4; pings++)
        {
            await host.AdvanceAsync((interval / 2) - Tick);
            Assert.Equal(pings, host.Count("WATCHDOG=1"));
            await host.AdvanceAsync(Tick);
            Assert.Equal(pings + 1, host.Count("WATCHDOG=1"));
        }
    }

    [Fact]
    public async Task Without_a_watchdog_interval_nothing_is_pinged()
    {
        await using var host = new DriverHarness();
        await host.StartAsync();
        await host.SendAsync(new SeedCluster().Snapshot());

        for (var i = 0; i < 30; i++)
        {
            await host.AdvanceAsync(TimeSpan.FromSeconds(2));
        }

        Assert.Equal(0, host.Count("WATCHDOG=1"));
        Assert.Equal(1, host.Count("READY=1"));
    }

    /// <summary>An endpoint of profile db on node2: remote, so its only effect here is a new member of db's set.</summary>
    private static IReadOnlyList<DataplaneUpdate> RemoteDbMember(SeedCluster seed, int n)
    {
        var batch = seed.Put($"/calico/v1/host/node2/workload/docker/db{n}/endpoint/e{n}",
            $$"""{"state":"active","name":"calie{{n}}","mac":"96:c4:86:4d:d7:2f","profile_ids":["db"],"ipv4_nets":["10.0.0.{{n}}/32"],"ipv6_nets":[]}""");
        Assert.NotEmpty(batch);
        return batch;
    }
}
