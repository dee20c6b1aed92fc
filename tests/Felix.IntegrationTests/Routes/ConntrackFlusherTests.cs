using System.Net;
using Felix.Dataplane;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Iptables;

namespace Felix.IntegrationTests.Routes;

/// <summary>
/// <see cref="ConntrackFlusher"/> over the real <see cref="ConntrackNetlink"/>, in a namespace of
/// its own whose conntrack table the test fills with <c>conntrack -I</c> and reads back with
/// <c>conntrack -L</c>: every flow of the flushed addresses goes, whichever direction names them
/// and whatever zone holds them, and nothing else; no flows is not an error; more entries than
/// one datagram of deletes carries all go.
/// </summary>
public sealed class ConntrackFlusherTests
{
    private readonly string _conntrack;

    public ConntrackFlusherTests()
    {
        Require.Root();
        _conntrack = Require.Executable("conntrack", "conntrack");
    }

    [Fact]
    public async Task Every_flow_of_the_addresses_is_flushed_in_every_direction_and_zone_and_no_other()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("ct");
        await InsertAsync(netns, "-p", "tcp", "-s", "10.65.0.1", "-d", "10.0.0.9", "--sport", "40000", "--dport", "80");
        await InsertAsync(netns, "-p", "tcp", "-s", "10.0.0.9", "-d", "10.65.0.1", "--sport", "40001", "--dport", "80");
        // To a service address, DNATed to the workload: only its reply source names the workload.
        await InsertAsync(netns, "-p", "tcp", "-s", "10.0.0.9", "-d", "10.96.0.10", "-r", "10.65.0.4", "-q", "10.0.0.9",
            "--sport", "40002", "--dport", "80", "--reply-port-src", "8080", "--reply-port-dst", "40002");
        await InsertAsync(netns, "-p", "udp", "-s", "10.65.0.1", "-d", "10.0.0.9", "--sport", "5353", "--dport", "53", "--zone", "7");
        await InsertAsync(netns, "-p", "icmp", "-s", "10.0.0.9", "-d", "10.65.0.4", "--icmp-type", "8", "--icmp-code", "0", "--icmp-id", "77");
        await InsertAsync(netns, "-p", "tcp", "-s", "10.65.0.2", "-d", "10.0.0.9", "--sport", "40003", "--dport", "80");
        await InsertAsync(netns, "-p", "tcp", "-s", "fd00::1", "-d", "fd00::9", "--sport", "40004", "--dport", "80");
        await InsertAsync(netns, "-p", "tcp", "-s", "fd00::2", "-d", "fd00::9", "--sport", "40005", "--dport", "80");
        var log = new RecordingLogger<ConntrackFlusher>();
        using var netlink = NetworkNamespace.Run(netns.Name, ConntrackNetlink.Open);
        var flusher = new ConntrackFlusher(netlink, log);

        Assert.True(flusher.Flush(IpVersion.V4, [IPAddress.Parse("10.65.0.1"), IPAddress.Parse("10.65.0.4")]), log.ToString());
        Assert.True(flusher.Flush(IpVersion.V6, [IPAddress.Parse("fd00::1")]), log.ToString());

        var left = (await netns.ExecCheckedAsync(_conntrack, "-L")).StandardOutput;
        Assert.Contains("src=10.65.0.2", left, StringComparison.Ordinal);
        Assert.DoesNotContain("10.65.0.1", left, StringComparison.Ordinal);
        Assert.DoesNotContain("10.65.0.4", left, StringComparison.Ordinal);
        var left6 = (await netns.ExecCheckedAsync(_conntrack, "-L", "-f", "ipv6")).StandardOutput;
        Assert.DoesNotContain("fd00::1 ", left6, StringComparison.Ordinal);
        Assert.Contains("src=fd00::2", left6, StringComparison.Ordinal);
        Assert.Equal(["conntrack (IPv4): deleted 5 entries of 2 addresses", "conntrack (IPv6): deleted 1 entries of 1 addresses"],
            log.Lines.Select(l => l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..]));
    }

    [Fact]
    public async Task Addresses_without_flows_are_not_an_error()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("ct0");
        using var netlink = NetworkNamespace.Run(netns.Name, ConntrackNetlink.Open);

        var result = netlink.DeleteFlows(IpVersion.V4, [IPAddress.Parse("10.65.0.1")]);

        Assert.Equal(new ConntrackDeletion(0, 0, null), result);
    }

    [Fact]
    public async Task More_entries_than_one_datagram_of_deletes_all_go_in_one_flush()
    {
        const int Flows = ConntrackNetlink.Window + 44;
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("ctn");
        // Eight at a time: each insert is a process in the namespace.
        using var inserts = new SemaphoreSlim(8);
        await Task.WhenAll(Enumerable.Range(0, Flows).Select(async i =>
        {
            await inserts.WaitAsync();
            try
            {
                await InsertAsync(netns, "-p", "tcp", "-s", Address(i).ToString(), "-d", "10.0.0.9", "--sport", "40000", "--dport", "80");
            }
            finally
            {
                inserts.Release();
            }
        }));
        using var netlink = NetworkNamespace.Run(netns.Name, ConntrackNetlink.Open);

        var result = netlink.DeleteFlows(IpVersion.V4, [.. Enumerable.Range(0, Flows - 1).Select(Address)]);

        Assert.Equal(new ConntrackDeletion(Flows - 1, 0, null), result);
        var left = (await netns.ExecCheckedAsync(_conntrack, "-L")).StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains($"src={Address(Flows - 1)} ", Assert.Single(left), StringComparison.Ordinal);
    }

    private static IPAddress Address(int i) => new([10, 65, (byte)(i >> 8), (byte)i]);

    /// <summary>An assured entry that lives 300 s; TCP ones established (the tool takes a state only for TCP).</summary>
    private Task<CommandResult> InsertAsync(NetNs netns, params string[] flow) =>
        netns.ExecCheckedAsync([_conntrack, "-I", .. flow, .. flow.Contains("tcp") ? ["--state", "ESTABLISHED"] : Array.Empty<string>(), "-u", "ASSURED", "-t", "300"]);
}
