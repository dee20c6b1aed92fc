using System.Net.Sockets;
using Felix.IntegrationTests.EndToEnd;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.Packaging;

/// <summary>
/// The unit's <c>Type=notify</c> contract, with the packaged agent (<c>/usr/bin/felix</c> from the
/// <c>.deb</c>) started as systemd starts it: as the child of a process named <c>systemd</c>, with
/// <c>NOTIFY_SOCKET</c> and <c>WATCHDOG_USEC</c> set.
/// <c>READY=1</c> is what lets <c>systemctl start</c> return and units ordered after felix start,
/// so it must come only once the host's policy is in the kernel; <c>STOPPING=1</c> tells systemd a
/// stop is under way.
/// </summary>
public sealed class SystemdNotifyTests
{
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);

    // Exiting within this after SIGTERM keeps systemd from escalating to SIGKILL (TimeoutStopSec).
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(5);

    // How long an agent that cannot reach etcd is watched for a premature READY=1, once it reports
    // that it waits for the datastore: several watchdog intervals and etcd connection attempts.
    private static readonly TimeSpan NotReadyWatch = TimeSpan.FromSeconds(3);

    private readonly ITestOutputHelper _output;

    public SystemdNotifyTests(ITestOutputHelper output)
    {
        Require.Root();
        _output = output;
    }

    [Fact]
    public async Task READY_1_comes_only_once_the_endpoint_is_programmed_and_STOPPING_1_on_SIGTERM()
    {
        await using var cluster = await Cluster.StartAsync(hostCount: 1);
        var host = cluster.Hosts[0];
        var db = await cluster.AddDbEndpointAsync(host, "db1", ipv6: false);
        // The host's policy is in etcd, but the agent cannot read it until etcd is back.
        await cluster.Etcd.StopAsync();

        await using var systemd = SystemdStandIn.Create();
        var environment = new Dictionary<string, string>(cluster.AgentEnvironment(host))
        {
            ["NOTIFY_SOCKET"] = systemd.NotifySocket,
            ["WATCHDOG_USEC"] = "1000000",
        };
        var packaged = Path.Combine(await (await DebianPackage.GetAsync()).ExtractAsync(), "usr", "bin", "felix");
        await using var agent = await AgentProcess.StartAsync(environment, inside: host.Namespace, launcher: systemd.Launcher, binary: packaged);
        try
        {
            var waiting = await systemd.WaitForAsync(n => n.StartsWith("STATUS=waiting for the datastore", StringComparison.Ordinal), StartBound);
            Assert.True(waiting is not null, $"no STATUS= saying it waits for the datastore\n{systemd.Transcript()}\n{agent.Output()}");
            Assert.Null(await systemd.WaitForAsync(n => n == "READY=1", NotReadyWatch));
            Assert.NotNull(await systemd.WaitForAsync(n => n == "WATCHDOG=1", StartBound));
            Assert.Empty(await RoutesOfAgentAsync(host));

            await cluster.Etcd.StartAsync();
            var ready = await systemd.WaitForAsync(n => n == "READY=1", StartBound);
            Assert.True(ready is not null, $"no READY=1 after etcd came back\n{systemd.Transcript()}\n{agent.Output()}");

            // Looked at the moment READY=1 arrived: everything the endpoint needs is already there.
            var suffix = db.HostInterface["cali".Length..];
            Assert.Equal($"{db.Ipv4Address} dev {db.HostInterface} scope link", Assert.Single(await RoutesOfAgentAsync(host)));
            Assert.True(await LiveArticleCluster.HasChainAsync(host, AddressFamily.InterNetwork, $"felix-to-{suffix}"), $"felix-to-{suffix} missing at READY=1");
            var set = (await host.Namespace.ExecCheckedAsync("ipset", "list", "felix-v4-db")).StandardOutput;
            Assert.Contains($"\n{db.Ipv4Address}", set, StringComparison.Ordinal);
            Assert.Equal("1", (await host.Namespace.ExecCheckedAsync("cat", $"/proc/sys/net/ipv4/conf/{db.HostInterface}/proxy_arp")).StandardOutput.Trim());
            Assert.NotNull(await systemd.WaitForAsync(n => n.StartsWith("STATUS=in sync: 1 local endpoint, 1 profile,", StringComparison.Ordinal), StartBound));

            await agent.SignalAsync("TERM");
            Assert.Equal(0, await agent.WaitForExitAsync(StopBound));
            var texts = systemd.Received.Select(n => n.Text).ToList();
            Assert.Equal("STOPPING=1", texts[^1]);
            Assert.Equal(1, texts.Count(t => t == "READY=1"));
            // The dataplane outlives the agent.
            Assert.Single(await RoutesOfAgentAsync(host));
        }
        finally
        {
            _output.WriteLine(systemd.Transcript());
        }
    }

    private static async Task<IReadOnlyList<string>> RoutesOfAgentAsync(ClusterHost host)
    {
        var routes = await host.Namespace.IpCheckedAsync("-4", "route", "show", "proto", "80");
        return [.. routes.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
    }
}
