using Felix.Dataplane.Exec;

namespace Felix.Agent.Tests.Dataplane;

/// <summary>
/// A periodic iptables read-back that runs while all is idle gives way to input arriving during
/// it: the save is stopped, the change is written at the next apply, and the read-back runs in
/// full at the end of the refresh interval the write restarted.
/// </summary>
public partial class DataplaneDriverApplyTests
{
    private static readonly TimeSpan IptablesRefresh = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task New_input_stops_a_periodic_read_back_in_flight_and_is_written_first()
    {
        await using var host = new DriverHarness(new HarnessOptions { Ipv6Support = false, IptablesRefreshInterval = IptablesRefresh });
        await host.StartAsync();
        var seed = new SeedCluster();
        await host.SendAsync(seed.Snapshot());
        var saveHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var saveStopped = false;
        host.Commands.BeforeRunCancellable = async (command, cancellationToken) =>
        {
            if (!IsIptablesSave(command) || saveHeld.Task.IsCompleted)
            {
                return;
            }
            saveHeld.TrySetResult();
            // Held until the driver stops it, for at most 5 s.
            saveStopped = await Task.WhenAny(Task.Delay(Timeout.Infinite, cancellationToken), Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)) is { IsCanceled: true };
        };

        var refreshing = host.AdvanceAsync(IptablesRefresh);
        await saveHeld.Task.WaitAsync(TimeSpan.FromSeconds(5));
        host.Send(seed.Put(SecondDbEndpoint,
            """{"state":"active","name":"cali8a1b2c3d4e5","mac":"96:c4:86:4d:d7:2e","profile_ids":["db"],"ipv4_nets":["192.168.0.3/32"],"ipv6_nets":[]}"""));
        await refreshing;
        await host.AdvanceAsync(Throttle);

        Assert.True(saveStopped);
        Assert.Contains(host.Commands.Iptables.ChainNames(Felix.Dataplane.IpVersion.V4, "filter"),
            name => name.Contains("8a1b2c3d4e5", StringComparison.Ordinal));
        // The write restarted the refresh interval; at its end, with nothing waiting, the read-back runs through.
        var savesBefore = Saves(host);
        await host.AdvanceAsync(IptablesRefresh);
        Assert.True(Saves(host) > savesBefore);
        Assert.True(host.Health.Snapshot().Ready);
    }

    private static int Saves(DriverHarness host) => host.Commands.Runs.Count(r => r.Program.EndsWith("-save", StringComparison.Ordinal));

    private static bool IsIptablesSave(Command command) => command.FileName.Contains("tables-", StringComparison.Ordinal) && command.FileName.EndsWith("-save", StringComparison.Ordinal);
}
