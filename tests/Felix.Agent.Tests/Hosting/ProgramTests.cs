using Felix.Agent.Hosting;
using Microsoft.Extensions.Hosting;

namespace Felix.Agent.Tests.Hosting;

public class ProgramTests
{
    private sealed class Failing : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
            Task.FromException(new InvalidDataException("watch loop broke"));
    }

    private sealed class Healthy : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Delay(Timeout.Infinite, stoppingToken);
    }

    [Fact]
    public async Task A_faulted_background_service_is_reported_as_the_reason_to_fail()
    {
        using var failing = new Failing();
        using var healthy = new Healthy();
        await healthy.StartAsync(CancellationToken.None);
        await failing.StartAsync(CancellationToken.None);
        // ExecuteAsync runs asynchronously; in the agent the host has stopped by the time we look.
        await Assert.ThrowsAsync<InvalidDataException>(() => failing.ExecuteTask!);

        Assert.Null(Program.FailedService([healthy]));
        Assert.Equal("Failing failed: watch loop broke", Program.FailedService([healthy, failing]));
        await healthy.StopAsync(CancellationToken.None);
    }
}
