using System.Net;
using Felix.Dataplane;
using Felix.Dataplane.Routes;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Iptables;

namespace Felix.IntegrationTests.Routes;

/// <summary>
/// <see cref="ConntrackFlusher"/> against the real <c>conntrack</c> tool, in a namespace of its own
/// whose conntrack table the test fills with <c>conntrack -I</c>: every flow of the address goes,
/// whichever direction it is in, and nothing else; an address without flows (the tool exits 1) is
/// not an error.
/// </summary>
public sealed class ConntrackFlusherTests
{
    public ConntrackFlusherTests()
    {
        Require.Root();
        Require.Executable("conntrack", "conntrack");
    }

    [Fact]
    public async Task Every_flow_of_an_address_is_flushed_in_every_direction_and_no_other()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("ct");
        await InsertAsync(netns, "-p", "tcp", "-s", "10.65.0.1", "-d", "10.0.0.9", "--sport", "40000", "--dport", "80");
        await InsertAsync(netns, "-p", "tcp", "-s", "10.0.0.9", "-d", "10.65.0.1", "--sport", "40001", "--dport", "80");
        // To a service address, DNATed to the workload: only its reply source names the workload.
        await InsertAsync(netns, "-p", "tcp", "-s", "10.0.0.9", "-d", "10.96.0.10", "-r", "10.65.0.1", "-q", "10.0.0.9",
            "--sport", "40002", "--dport", "80", "--reply-port-src", "8080", "--reply-port-dst", "40002");
        await InsertAsync(netns, "-p", "tcp", "-s", "10.65.0.2", "-d", "10.0.0.9", "--sport", "40003", "--dport", "80");
        await InsertAsync(netns, "-p", "tcp", "-s", "fd00::1", "-d", "fd00::9", "--sport", "40004", "--dport", "80");
        var log = new RecordingLogger<ConntrackFlusher>();
        var flusher = new ConntrackFlusher(new NamespacedCommandRunner(netns), log, TimeSpan.FromSeconds(30));

        Assert.True(await flusher.FlushAsync(IpVersion.V4, IPAddress.Parse("10.65.0.1"), CancellationToken.None), log.ToString());
        Assert.True(await flusher.FlushAsync(IpVersion.V6, IPAddress.Parse("fd00::1"), CancellationToken.None), log.ToString());

        var left = await netns.ExecCheckedAsync(Require.Executable("conntrack", "conntrack"), "-L");
        Assert.Contains("src=10.65.0.2", left.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("10.65.0.1", left.StandardOutput, StringComparison.Ordinal);
        var left6 = await netns.ExecCheckedAsync(Require.Executable("conntrack", "conntrack"), "-L", "-f", "ipv6");
        Assert.DoesNotContain("fd00::1 ", left6.StandardOutput, StringComparison.Ordinal);
        Assert.Empty(log.Lines);
    }

    [Fact]
    public async Task An_address_without_flows_is_not_an_error()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("ct0");
        var log = new RecordingLogger<ConntrackFlusher>();
        var runner = new NamespacedCommandRunner(netns);
        var flusher = new ConntrackFlusher(runner, log, TimeSpan.FromSeconds(30));

        Assert.True(await flusher.FlushAsync(IpVersion.V4, IPAddress.Parse("10.65.0.1"), CancellationToken.None), log.ToString());

        Assert.Equal(4, runner.Commands.Count);
        Assert.Empty(log.Lines);
    }

    private static Task<CommandResult> InsertAsync(NetNs netns, params string[] flow) =>
        netns.ExecCheckedAsync([Require.Executable("conntrack", "conntrack"), "-I", .. flow, "--state", "ESTABLISHED", "-u", "ASSURED", "-t", "300"]);
}
