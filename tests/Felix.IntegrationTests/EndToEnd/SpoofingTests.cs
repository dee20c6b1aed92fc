using System.Net;
using System.Net.Sockets;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.EndToEnd;

/// <summary>
/// A workload may only send as itself. Sending from another endpoint's address, from a pool
/// address nobody holds, from an address outside every pool, or with another MAC, its packets die
/// in its <c>felix-from-&lt;suffix&gt;</c> chain, while the same packets from its own addresses
/// and MAC reach the same target. A spoofed TCP handshake could never complete anyway (the answer
/// goes to the address's real owner, or nowhere), so a timed-out probe proves nothing here: the
/// tests send UDP and look at both ends — what the target received, from which source, and which
/// rule or kernel counter accounted for the packets. For IPv4 the kernel has a say first: the
/// agent turns reverse-path filtering on for each workload interface, and since those interfaces
/// hold no IPv4 address the kernel rejects every source not routed through them, even when the
/// host's <c>conf/all/rp_filter</c> is 2 (loose). So the IPv4 chain test turns the filter off on
/// the attackers' interfaces, making the chain the only defence, and a second test shows the
/// kernel's filter at work with <c>conf/all</c> at 0 and at 2.
/// </summary>
[Collection(LiveArticleCluster.Collection)]
public sealed class SpoofingTests
{
    private const int UdpPort = SpoofSetup.UdpPort;
    private const int TcpPort = SpoofSetup.TcpPort;
    private const string SpoofedSource = "Drop if the source is not an endpoint address";
    private const string SpoofedMac = "Drop if the source MAC is not the endpoint MAC";

    /// <summary>Well past one probe's SYN and its first retransmit; a drop costs this per probe.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>How long a datagram or a counter may take to show up on a loaded machine; they usually take a millisecond.</summary>
    private static readonly TimeSpan ArrivalTimeout = TimeSpan.FromSeconds(5);

    private readonly ITestOutputHelper _output;

    public SpoofingTests(ITestOutputHelper output)
    {
        Require.Root();
        _output = output;
    }

    [Fact]
    public async Task Spoofed_sources_die_in_the_from_chain_and_the_senders_own_addresses_get_through()
    {
        await using var setup = await SpoofSetup.StartAsync(_output);
        var (d, target) = (setup.Deployment, setup.Target);
        // No interface re-check during the test: it would turn the filter below back on.
        await d.StartAgentAsync(new Dictionary<string, string> { ["FELIX_ROUTEREFRESHINTERVAL"] = "0" });
        // The kernel's reverse-path filter off for the attackers (the agent turned it on), so
        // every IPv4 spoof reaches the chain, as every IPv6 one does anyway.
        await d.Host.Namespace.ExecCheckedAsync(["sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0",
            .. setup.Attackers.Select(a => $"net.ipv4.conf.{a.HostInterface}.rp_filter=0")]);
        var round = 0;
        foreach (var attacker in setup.Attackers)
        {
            foreach (var family in OneHostDeployment.Families)
            {
                var chain = OneHostDeployment.FromChain(attacker);
                foreach (var own in SpoofSetup.OwnAddresses(attacker, family))
                {
                    Assert.True(await ConnectFromAsync(attacker, own, target.AddressOf(family)),
                        $"{attacker.Name} from its own {own} could not connect to {target.AddressOf(family)}:{TcpPort}\n{d.Agent.Output()}");
                    await AssertArrivesAsync(setup, attacker, own, family, $"own-{round++}");
                }

                var (before, rpBefore) = (await d.PacketsAsync(family, chain, SpoofedSource), await RpFilterDropsAsync(d));
                var spoofed = setup.SpoofedAddresses(family);
                var payloads = new List<string>();
                foreach (var source in spoofed)
                {
                    var payload = $"spoofed-{round++}-{source}";
                    payloads.Add(payload);
                    await NamespaceUdp.SendAsync(attacker.Namespace, new IPEndPoint(source, 0), new IPEndPoint(target.AddressOf(family), UdpPort), payload);
                }

                var after = await d.WaitForPacketsAsync(family, chain, SpoofedSource, before + spoofed.Count, ArrivalTimeout);
                var rpAfter = await RpFilterDropsAsync(d);
                d.Log($"{attacker.Name} {family}: {chain} '{SpoofedSource}' counted {before} -> {after} for {spoofed.Count} spoofed datagrams ({string.Join(", ", spoofed)}); IPReversePathFilter {rpBefore} -> {rpAfter}");
                Assert.True(spoofed.Count == after - before, $"{chain} counted {after - before} of {spoofed.Count} spoofed datagrams\n{await SaveAsync(d, family)}");
                Assert.Equal(rpBefore, rpAfter);
                // Sent after the spoofed ones on the same link: once it is in, nothing spoofed is still on its way.
                await AssertArrivesAsync(setup, attacker, attacker.AddressOf(family), family, $"sentinel-{round++}");
                Assert.DoesNotContain(setup.Received.Received, datagram => payloads.Contains(datagram.Payload));
            }
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("2")]
    public async Task The_kernel_drops_IPv4_spoofs_before_the_chain_whatever_conf_all_rp_filter_says_and_IPv6_spoofs_die_in_the_chain(string allRpFilter)
    {
        await using var setup = await SpoofSetup.StartAsync(_output);
        var (d, target, attacker) = (setup.Deployment, setup.Target, setup.Attackers[0]);
        await d.Host.Namespace.ExecCheckedAsync("sysctl", "-q", "-w", $"net.ipv4.conf.all.rp_filter={allRpFilter}");
        await d.StartAgentAsync();
        var perInterface = (await d.Host.Namespace.ExecCheckedAsync("sysctl", "-n", $"net.ipv4.conf.{attacker.HostInterface}.rp_filter")).StandardOutput.Trim();
        Assert.Equal("1", perInterface);
        var round = 0;
        foreach (var family in OneHostDeployment.Families)
        {
            var chain = OneHostDeployment.FromChain(attacker);
            var (chainBefore, rpBefore) = (await d.PacketsAsync(family, chain, SpoofedSource), await RpFilterDropsAsync(d));
            var spoofed = setup.SpoofedAddresses(family);
            var payloads = new List<string>();
            foreach (var source in spoofed)
            {
                var payload = $"spoofed-{round++}-{source}";
                payloads.Add(payload);
                await NamespaceUdp.SendAsync(attacker.Namespace, new IPEndPoint(source, 0), new IPEndPoint(target.AddressOf(family), UdpPort), payload);
            }

            await AssertArrivesAsync(setup, attacker, attacker.AddressOf(family), family, $"sentinel-{round++}");
            var (chainAfter, rpAfter) = family == AddressFamily.InterNetwork
                ? (await d.PacketsAsync(family, chain, SpoofedSource), await WaitForRpFilterDropsAsync(d, rpBefore + spoofed.Count))
                : (await d.WaitForPacketsAsync(family, chain, SpoofedSource, chainBefore + spoofed.Count, ArrivalTimeout), await RpFilterDropsAsync(d));
            d.Log($"{family}: IPReversePathFilter {rpBefore} -> {rpAfter}, {chain} '{SpoofedSource}' {chainBefore} -> {chainAfter} for {spoofed.Count} spoofed datagrams");
            Assert.DoesNotContain(setup.Received.Received, datagram => payloads.Contains(datagram.Payload));
            // IPv4: all stopped by the reverse-path check, none reached the chain. IPv6 has no such
            // sysctl: the chain counted every one.
            var (kernel, byChain) = family == AddressFamily.InterNetwork ? (spoofed.Count, 0) : (0, spoofed.Count);
            Assert.Equal(kernel, rpAfter - rpBefore);
            Assert.Equal(byChain, chainAfter - chainBefore);
        }
    }

    [Fact]
    public async Task A_workload_sending_with_another_MAC_is_dropped_by_its_from_chain_and_gets_through_again_with_its_own()
    {
        await using var setup = await SpoofSetup.StartAsync(_output);
        var (d, target, attacker) = (setup.Deployment, setup.Target, setup.Attackers[0]);
        await d.StartAgentAsync();
        var round = 0;
        foreach (var family in OneHostDeployment.Families)
        {
            Assert.True(await ConnectFromAsync(attacker, attacker.AddressOf(family), target.AddressOf(family)), $"{family}: control before the MAC change");
            await AssertArrivesAsync(setup, attacker, attacker.AddressOf(family), family, $"own-mac-{round++}");
        }

        const string otherMac = "02:5f:00:00:00:01";
        Assert.NotEqual(otherMac, attacker.Mac, StringComparer.OrdinalIgnoreCase);
        await attacker.Namespace.IpCheckedAsync("link", "set", Workload.InterfaceName, "address", otherMac);
        foreach (var family in OneHostDeployment.Families)
        {
            var chain = OneHostDeployment.FromChain(attacker);
            var before = await d.PacketsAsync(family, chain, SpoofedMac);
            var payload = $"other-mac-{round++}";
            await NamespaceUdp.SendAsync(attacker.Namespace, null, new IPEndPoint(target.AddressOf(family), UdpPort), payload);
            var after = await d.WaitForPacketsAsync(family, chain, SpoofedMac, before + 1, ArrivalTimeout);
            d.Log($"{family}: with MAC {otherMac}, {chain} '{SpoofedMac}' counted {before} -> {after} for one datagram");
            Assert.Equal(1, after - before);
            Assert.False(setup.Received.Has(payload), $"{family}: the datagram sent with another MAC arrived");
            Assert.False(await ConnectFromAsync(attacker, attacker.AddressOf(family), target.AddressOf(family)), $"{family}: connected with another MAC");
        }

        await attacker.Namespace.IpCheckedAsync("link", "set", Workload.InterfaceName, "address", attacker.Mac);
        foreach (var family in OneHostDeployment.Families)
        {
            await AssertArrivesAsync(setup, attacker, attacker.AddressOf(family), family, $"mac-restored-{round++}");
            Assert.True(await ConnectFromAsync(attacker, attacker.AddressOf(family), target.AddressOf(family)), $"{family}: control after the MAC was restored");
        }
    }

    private static async Task AssertArrivesAsync(SpoofSetup setup, ClusterWorkload from, IPAddress source, AddressFamily family, string payload)
    {
        await NamespaceUdp.SendAsync(from.Namespace, new IPEndPoint(source, 0), new IPEndPoint(setup.Target.AddressOf(family), UdpPort), payload);
        var datagram = await setup.Received.WaitForAsync(payload, ArrivalTimeout);
        Assert.True(datagram is not null, $"{payload} from {from.Name} ({source}) never reached {setup.Target.Name}\n{setup.Deployment.Agent.Output()}");
        Assert.Equal(source, datagram.Source);
    }

    /// <summary>One TCP connection attempt from <paramref name="source"/>, an address of the workload's namespace.</summary>
    private static async Task<bool> ConnectFromAsync(ClusterWorkload from, IPAddress source, IPAddress to)
    {
        using var socket = NamespaceSockets.CreateTcp(from.Namespace, to.AddressFamily);
        socket.Bind(new IPEndPoint(source, 0));
        using var limit = new CancellationTokenSource(ProbeTimeout);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(to, TcpPort), limit.Token);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            return false;
        }
    }

    private static async Task<string> SaveAsync(OneHostDeployment d, AddressFamily family) =>
        (await d.Host.Namespace.ExecCheckedAsync(family == AddressFamily.InterNetworkV6 ? "ip6tables-nft-save" : "iptables-nft-save", "-c", "-t", "filter")).StandardOutput
        + (await d.Host.Namespace.ExecCheckedAsync("sysctl", "-a", "--pattern", "rp_filter")).StandardOutput;

    private static Task<long> RpFilterDropsAsync(OneHostDeployment d) => d.KernelCounterAsync("TcpExt", "IPReversePathFilter");

    private static async Task<long> WaitForRpFilterDropsAsync(OneHostDeployment d, long atLeast)
    {
        var deadline = DateTime.UtcNow + ArrivalTimeout;
        var drops = await RpFilterDropsAsync(d);
        while (drops < atLeast && DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20));
            drops = await RpFilterDropsAsync(d);
        }

        return drops;
    }
}
