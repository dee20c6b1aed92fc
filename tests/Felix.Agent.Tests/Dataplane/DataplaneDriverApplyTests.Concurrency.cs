using Felix.Dataplane.Exec;

namespace Felix.Agent.Tests.Dataplane;

/// <summary>
/// When the sets' only change is members of sets the kernel already holds, no rule waits for it:
/// the <c>ipset restore</c> runs alongside the tables' <c>iptables-restore</c>. A set to create
/// still comes first.
/// </summary>
public partial class DataplaneDriverApplyTests
{
    private const string SecondDbEndpoint = "/calico/v1/host/node1/workload/docker/container3/endpoint/8a1b2c3d4e5";

    [Fact]
    public async Task A_member_only_set_change_runs_alongside_the_iptables_restore()
    {
        await using var host = new DriverHarness();
        await host.StartAsync();
        var seed = new SeedCluster();
        await host.SendAsync(seed.Snapshot());
        var restoreStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var restoreSeenWhileSetsHeld = false;
        host.Commands.BeforeRun = async command =>
        {
            if (IsIptablesRestore(command))
            {
                restoreStarted.TrySetResult();
            }
            else if (IsIpsetRestore(command))
            {
                // Held until an iptables-restore starts: it can only start meanwhile if it does not wait for this one.
                restoreSeenWhileSetsHeld = await Task.WhenAny(restoreStarted.Task, Task.Delay(TimeSpan.FromSeconds(5))) == restoreStarted.Task;
            }
        };

        // A second db container on node1: its address joins felix-v4-db (which exists), its chains are new.
        await host.SendAsync(seed.Put(SecondDbEndpoint,
            """{"state":"active","name":"cali8a1b2c3d4e5","mac":"96:c4:86:4d:d7:2e","profile_ids":["db"],"ipv4_nets":["192.168.0.3/32"],"ipv6_nets":[]}"""));
        await host.AdvanceAsync(Throttle);

        Assert.True(restoreSeenWhileSetsHeld);
        Assert.Equal(["192.168.0.1", "192.168.0.3"], host.Commands.Ipset.Members("felix-v4-db"));
        Assert.Contains(host.Commands.Iptables.ChainNames(Felix.Dataplane.IpVersion.V4, "filter"),
            name => name.Contains("8a1b2c3d4e5", StringComparison.Ordinal));
        Assert.True(host.Health.Snapshot().Ready);
    }

    [Fact]
    public async Task A_set_to_create_is_written_before_any_iptables_restore_starts()
    {
        await using var host = new DriverHarness();
        await host.StartAsync();
        var seed = new SeedCluster();
        await host.SendAsync(seed.Snapshot());
        var setsWrittenAtRestore = new List<bool>();
        host.Commands.BeforeRun = command =>
        {
            if (IsIptablesRestore(command))
            {
                setsWrittenAtRestore.Add(host.Commands.Ipset.Exists("felix-v4-web"));
            }
            return Task.CompletedTask;
        };

        // A web container on node1: profile web, whose tag sets are new.
        await host.SendAsync(seed.Put(SecondDbEndpoint,
            """{"state":"active","name":"cali8a1b2c3d4e5","mac":"96:c4:86:4d:d7:2e","profile_ids":["web"],"ipv4_nets":["192.168.0.3/32"],"ipv6_nets":[]}"""));
        await host.AdvanceAsync(Throttle);

        Assert.NotEmpty(setsWrittenAtRestore);
        Assert.All(setsWrittenAtRestore, Assert.True);
        Assert.Equal(["192.168.0.3"], host.Commands.Ipset.Members("felix-v4-web"));
    }

    private static bool IsIptablesRestore(Command command) => command.FileName.Contains("tables-", StringComparison.Ordinal) && command.FileName.EndsWith("-restore", StringComparison.Ordinal);

    private static bool IsIpsetRestore(Command command) => command.FileName.EndsWith("ipset", StringComparison.Ordinal) && command.Arguments.Contains("restore");
}
