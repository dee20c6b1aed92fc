using Felix.Dataplane.Exec;
using NSubstitute;
using Prometheus;

namespace Felix.Dataplane.Tests.Exec;

public class TimedCommandRunnerTests
{
    [Fact]
    public async Task Each_run_is_recorded_in_microseconds_under_the_program_name()
    {
        var inner = Substitute.For<ICommandRunner>();
        var command = new Command("/usr/sbin/iptables-nft-restore", ["--noflush"], "COMMIT\n", TimeSpan.FromSeconds(5));
        inner.RunAsync(command, Arg.Any<CancellationToken>())
            .Returns(new CommandResult(0, string.Empty, string.Empty, TimeSpan.FromMilliseconds(35)));
        var registry = Metrics.NewCustomRegistry();
        var runner = new TimedCommandRunner(inner, Metrics.WithCustomRegistry(registry));

        var result = await runner.RunAsync(command, CancellationToken.None);
        await runner.RunAsync(command, CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        var text = await Export(registry);
        Assert.Contains("felix_exec_time_micros_sum{command=\"iptables-nft-restore\"} 70000", text, StringComparison.Ordinal);
        Assert.Contains("felix_exec_time_micros_count{command=\"iptables-nft-restore\"} 2", text, StringComparison.Ordinal);
    }

    private static async Task<string> Export(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
