using Felix.Agent.Dataplane;
using Felix.Dataplane.Tests.Fakes;
using NSubstitute;

namespace Felix.Agent.Tests.Dataplane;

/// <summary>Environment.ExitCode is the process's: no other test may run while one sets it.</summary>
[CollectionDefinition(nameof(ProcessExitCode), DisableParallelization = true)]
public sealed class ProcessExitCode;

/// <summary>Crash-only: a part of the dataplane that keeps failing ends the agent, so systemd starts it afresh.</summary>
[Collection(nameof(ProcessExitCode))]
public class DataplaneDriverFailureTests
{
    [Fact]
    public async Task A_part_failing_for_the_failure_timeout_stops_the_agent_with_exit_code_1()
    {
        var options = new DriverOptions();
        await using var host = new DriverHarness();
        DateTimeOffset? stoppedAt = null;
        host.Lifetime.When(l => l.StopApplication()).Do(_ => stoppedAt = host.Clock.GetUtcNow());
        try
        {
            await host.StartAsync();
            host.Commands.Iptables.FailNext(1000, tool: FakeIptablesTool.Restore);
            await host.SendAsync(new SeedCluster().Snapshot());
            var failingSince = host.Clock.GetUtcNow();

            // Second by second until the driver gives up; each step ends with it asleep or stopped.
            for (var second = 0; second < 2 * options.FailureTimeout.TotalSeconds && stoppedAt is null; second++)
            {
                host.Clock.Advance(TimeSpan.FromSeconds(1));
                await DriverHarness.WaitUntilAsync(() => stoppedAt is not null || host.IsAsleep, "the driver to retry or give up");
            }

            Assert.NotNull(stoppedAt);
            // It gives up at the first failed retry once the part has failed that long, and not before.
            Assert.InRange(stoppedAt.Value - failingSince, options.FailureTimeout, options.FailureTimeout + options.MaxRetryDelay);
            Assert.Equal(1, Environment.ExitCode);
            await host.Driver.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(30));
            host.Lifetime.Received(1).StopApplication();
            Assert.Equal("STOPPING=1", host.Notifications[^1]);
            Assert.Equal(0, host.Count("READY=1"));
            Assert.Contains(host.Log.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Critical
                && e.Message.Contains("iptables IPv4 filter has failed", StringComparison.Ordinal));
        }
        finally
        {
            Environment.ExitCode = 0;
        }
    }

    [Fact]
    public async Task A_part_that_recovers_before_the_failure_timeout_does_not_stop_the_agent()
    {
        var options = new DriverOptions();
        await using var host = new DriverHarness();
        try
        {
            await host.StartAsync();
            host.Commands.Iptables.FailNext(1000, tool: FakeIptablesTool.Restore);
            await host.SendAsync(new SeedCluster().Snapshot());
            await host.AdvanceAsync(options.FailureTimeout / 2);

            host.Commands.Iptables.FailNext(0);
            for (var second = 0; second < 2 * options.FailureTimeout.TotalSeconds; second++)
            {
                await host.AdvanceAsync(TimeSpan.FromSeconds(1));
            }

            host.Lifetime.DidNotReceive().StopApplication();
            Assert.Equal(0, Environment.ExitCode);
            Assert.Equal(1, host.Count("READY=1"));
        }
        finally
        {
            Environment.ExitCode = 0;
        }
    }
}
