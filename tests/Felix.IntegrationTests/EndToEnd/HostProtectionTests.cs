using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.EndToEnd;

/// <summary>
/// A workload talking to its own host (its LAN addresses, where host services listen), under each
/// <c>DefaultEndpointToHostAction</c> in turn on the same deployment, the agent restarted with the
/// new value each time. The workload's profile lets it out on TCP 7001 and 7003 and UDP 54 only;
/// the host has one rule of its own after the agent's hook, dropping TCP 7003. So the three
/// actions give three different pictures of the same ports: DROP closes all of them, ACCEPT opens
/// what the profile allows (7003 too: the host's rule is never reached), RETURN opens what the
/// profile allows and the host's rules then still allow (not 7003). Under every action DHCP,
/// DNS and the metadata server (pointed at the host's address) stay reachable, as they must for
/// a workload to start — also where the profile itself would not let them out.
/// </summary>
[Collection(LiveArticleCluster.Collection)]
public sealed class HostProtectionTests
{
    private const string Profile = "guarded";
    private const string Rules = """
        { "inbound_rules": [ { "action": "allow" } ],
          "outbound_rules": [ { "action": "allow", "protocol": "tcp", "dst_ports": [7001, 7003] }, { "action": "allow", "protocol": "udp", "dst_ports": [54] } ] }
        """;

    private const int Allowed = 7001;
    private const int Denied = 7002;
    private const int HostBlocked = 7003;
    private const int Dns = 53;
    private const int Metadata = 8775;
    private const int OtherUdp = 54;
    private const string HostRule = "host rule: no 7003";
    private const string DropRule = "DefaultEndpointToHostAction DROP";
    private const string NoProfileAccepted = "Drop if no profile accepted";

    /// <summary>Two SYNs (Linux resends after 1 s): a closed port costs this, so each phase probes in parallel.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan ArrivalTimeout = TimeSpan.FromSeconds(5);

    private readonly ITestOutputHelper _output;

    public HostProtectionTests(ITestOutputHelper output)
    {
        Require.Root();
        _output = output;
    }

    [Fact]
    public async Task Workload_to_host_is_dropped_under_DROP_accepted_after_outbound_policy_under_ACCEPT_and_left_to_the_host_under_RETURN_with_DHCP_DNS_and_metadata_always_allowed()
    {
        await using var d = await OneHostDeployment.CreateAsync(_output, new Dictionary<string, string> { [Profile] = Rules }, ["guarded1"]);
        var workload = d.Cluster.Workload("guarded1");
        await d.WriteEndpointAsync(workload, Profile);
        await using var tcp = Listener.Start(d.Host.Namespace, [Allowed, Denied, HostBlocked, Dns, Metadata]);
        await using var udp = UdpReceiver.Start(d.Host.Namespace, [67, Dns, OtherUdp, 547]);
        foreach (var iptables in new[] { "iptables-nft", "ip6tables-nft" })
        {
            await d.Host.Namespace.ExecCheckedAsync(iptables, "-A", "INPUT", "-p", "tcp", "--dport", HostBlocked.ToString(CultureInfo.InvariantCulture),
                "-m", "comment", "--comment", HostRule, "-j", "DROP");
        }

        var round = 0;
        string Next(string what) => $"{what}-{round++}";

        // DROP, the default. TCP 53 too: the DNS allowance is for UDP, as the original agent's was.
        await d.StartAgentAsync(Settings(d, null));
        var dropsBefore = await CountAsync(d, "felix-INPUT", DropRule);
        await AssertPortsAsync(d, workload, "DROP", new() { [Allowed] = false, [Denied] = false, [HostBlocked] = false, [Dns] = false });
        var dropsAfter = await CountAsync(d, "felix-INPUT", DropRule);
        d.Log($"DROP: '{DropRule}' counted {Render(dropsBefore)} -> {Render(dropsAfter)} for 4 TCP ports");
        foreach (var family in OneHostDeployment.Families)
        {
            // Each closed probe sent at least one SYN, and this rule is what dropped it.
            Assert.True(dropsAfter[family] - dropsBefore[family] >= 4, $"{family}: '{DropRule}' counted {dropsBefore[family]} -> {dropsAfter[family]}");
        }

        // What a workload needs from its host gets through DROP: DHCP (from the client port only),
        // DHCPv6, DNS. UDP to another port does not; it is sent first, so once the allowed
        // datagram behind it on the same path is in, it would be in too.
        dropsBefore = await CountAsync(d, "felix-INPUT", DropRule);
        var v4 = AddressFamily.InterNetwork;
        var v6 = AddressFamily.InterNetworkV6;
        var refused = new List<(AddressFamily Family, string Payload)>
        {
            (v4, await SendAsync(d, workload, v4, null, OtherUdp, Next("udp54"))),
            (v4, await SendAsync(d, workload, v4, 1067, 67, Next("dhcp-not-from-68"))),
            (v6, await SendAsync(d, workload, v6, null, OtherUdp, Next("udp54"))),
        };
        await AssertAllowancesAsync(d, workload, udp, Next);

        dropsAfter = await WaitForCountAsync(d, "felix-INPUT", DropRule,
            OneHostDeployment.Families.ToDictionary(family => family, family => dropsBefore[family] + refused.Count(r => r.Family == family)));
        d.Log($"DROP, UDP: '{DropRule}' counted {Render(dropsBefore)} -> {Render(dropsAfter)} for {refused.Count} refused datagrams");
        foreach (var (family, payload) in refused)
        {
            Assert.False(udp.Has(payload), $"{payload} reached the host under DROP");
        }

        foreach (var family in OneHostDeployment.Families)
        {
            Assert.True(dropsAfter[family] - dropsBefore[family] >= refused.Count(r => r.Family == family),
                $"{family}: '{DropRule}' counted {dropsBefore[family]} -> {dropsAfter[family]}");
        }

        // ACCEPT: the workload's outbound policy decides, then the agent accepts; the host's own
        // rule against 7003 is never reached. The allowances still let DHCP and DNS through though
        // the profile has no rule for them: they come before the policy.
        await d.StartAgentAsync(Settings(d, "ACCEPT"));
        var deniedBefore = await CountAsync(d, OneHostDeployment.FromChain(workload), NoProfileAccepted);
        await AssertPortsAsync(d, workload, "ACCEPT", new() { [Allowed] = true, [Denied] = false, [HostBlocked] = true, [Dns] = false });
        var deniedAfter = await CountAsync(d, OneHostDeployment.FromChain(workload), NoProfileAccepted);
        d.Log($"ACCEPT: '{NoProfileAccepted}' of the workload counted {Render(deniedBefore)} -> {Render(deniedAfter)}");
        foreach (var family in OneHostDeployment.Families)
        {
            Assert.True(deniedAfter[family] - deniedBefore[family] >= 2, $"{family}: the outbound policy dropped nothing under ACCEPT");
            await AssertReceivedAsync(udp, await SendAsync(d, workload, family, null, OtherUdp, Next("udp54")), workload.AddressOf(family));
        }

        await AssertAllowancesAsync(d, workload, udp, Next);

        // RETURN: the workload's outbound policy, then the host's own INPUT rules decide.
        await d.StartAgentAsync(Settings(d, "RETURN"));
        var hostRuleBefore = await CountAsync(d, "INPUT", HostRule);
        await AssertPortsAsync(d, workload, "RETURN", new() { [Allowed] = true, [Denied] = false, [HostBlocked] = false, [Dns] = false });
        var hostRuleAfter = await CountAsync(d, "INPUT", HostRule);
        d.Log($"RETURN: the host's own '{HostRule}' counted {Render(hostRuleBefore)} -> {Render(hostRuleAfter)}");
        foreach (var family in OneHostDeployment.Families)
        {
            Assert.True(hostRuleAfter[family] > hostRuleBefore[family], $"{family}: the host's own rule saw nothing under RETURN");
            await AssertReceivedAsync(udp, await SendAsync(d, workload, family, null, OtherUdp, Next("udp54")), workload.AddressOf(family));
        }

        await AssertAllowancesAsync(d, workload, udp, Next);

        // And back: a restart with DROP closes the host again.
        await d.StartAgentAsync(Settings(d, null));
        await AssertPortsAsync(d, workload, "DROP again", new() { [Allowed] = false, [HostBlocked] = false });
    }

    /// <summary>The metadata server on the host's own address, so a workload can reach it by routing (the loopback default cannot be).</summary>
    private static Dictionary<string, string> Settings(OneHostDeployment d, string? action)
    {
        var settings = new Dictionary<string, string>
        {
            ["FELIX_METADATAADDR"] = d.Host.Address.ToString(),
            ["FELIX_METADATAPORT"] = Metadata.ToString(CultureInfo.InvariantCulture),
        };
        if (action is not null)
        {
            settings["FELIX_DEFAULTENDPOINTTOHOSTACTION"] = action;
        }

        return settings;
    }

    /// <summary>
    /// Probes every port of <paramref name="expected"/> on the host's address of each family at
    /// once and fails listing every cell that differs. An expected-open port gets three tries, so a
    /// neighbour still resolving after the restart is not taken for a closed port.
    /// </summary>
    private static async Task AssertPortsAsync(OneHostDeployment d, ClusterWorkload workload, string phase, Dictionary<int, bool> expected)
    {
        var cells = OneHostDeployment.Families.SelectMany(family => expected.Select(pair => (Family: family, Port: pair.Key, Open: pair.Value))).ToList();
        var results = await Task.WhenAll(cells.Select(async cell =>
        {
            var to = d.Host.AddressOf(cell.Family);
            var result = await Probe.ConnectAsync(workload.Namespace, to, cell.Port, ProbeTimeout);
            for (var retry = 0; retry < 2 && cell.Open && !result.IsOpen; retry++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100));
                result = await Probe.ConnectAsync(workload.Namespace, to, cell.Port, ProbeTimeout);
            }

            return result;
        }));
        var lines = cells.Zip(results).Select(pair => $"{pair.First.Family} :{pair.First.Port} expected {(pair.First.Open ? "open" : "closed")}, got {pair.Second}").ToList();
        d.Log($"{phase}: {string.Join("; ", lines)}");
        var wrong = cells.Zip(results).Where(pair => pair.First.Open != pair.Second.IsOpen).ToList();
        Assert.True(wrong.Count == 0, $"{phase}:\n{string.Join('\n', lines)}\n{d.Agent.Output()}");
        // A closed port must look dropped, not refused: a RST would mean the listener is missing.
        Assert.All(cells.Zip(results).Where(pair => !pair.First.Open), pair => Assert.Equal(ProbeOutcome.TimedOut, pair.Second.Outcome));
    }

    /// <summary>DHCP from the client port, DHCPv6, DNS over both families and the metadata server all reach the host.</summary>
    private static async Task AssertAllowancesAsync(OneHostDeployment d, ClusterWorkload workload, UdpReceiver udp, Func<string, string> next)
    {
        var (v4, v6) = (AddressFamily.InterNetwork, AddressFamily.InterNetworkV6);
        await AssertReceivedAsync(udp, await SendAsync(d, workload, v4, 68, 67, next("dhcp")), workload.Ipv4Address);
        await AssertReceivedAsync(udp, await SendAsync(d, workload, v6, 546, 547, next("dhcpv6")), workload.AddressOf(v6));
        foreach (var family in OneHostDeployment.Families)
        {
            await AssertReceivedAsync(udp, await SendAsync(d, workload, family, null, Dns, next("dns")), workload.AddressOf(family));
        }

        Assert.True((await Probe.ConnectAsync(workload.Namespace, d.Host.Address, Metadata, ProbeTimeout)).IsOpen,
            $"the metadata allowance (tcp {d.Host.Address}:{Metadata}) did not let the workload through\n{d.Agent.Output()}");
    }

    /// <summary>Sends <paramref name="payload"/> from the workload's address (and <paramref name="sourcePort"/> when given) to the host's; returns the payload.</summary>
    private static async Task<string> SendAsync(OneHostDeployment d, ClusterWorkload workload, AddressFamily family, int? sourcePort, int port, string payload)
    {
        var local = sourcePort is { } fixedPort ? new IPEndPoint(workload.AddressOf(family), fixedPort) : null;
        await NamespaceUdp.SendAsync(workload.Namespace, local, new IPEndPoint(d.Host.AddressOf(family), port), payload);
        return payload;
    }

    private static async Task AssertReceivedAsync(UdpReceiver udp, string payload, IPAddress source)
    {
        var datagram = await udp.WaitForAsync(payload, ArrivalTimeout);
        Assert.True(datagram is not null, $"{payload} never reached the host");
        Assert.Equal(source, datagram.Source);
    }

    private static async Task<Dictionary<AddressFamily, long>> CountAsync(OneHostDeployment d, string chain, string fragment)
    {
        var counts = new Dictionary<AddressFamily, long>();
        foreach (var family in OneHostDeployment.Families)
        {
            counts[family] = await d.PacketsAsync(family, chain, fragment);
        }

        return counts;
    }

    private static async Task<Dictionary<AddressFamily, long>> WaitForCountAsync(OneHostDeployment d, string chain, string fragment,
        Dictionary<AddressFamily, long> atLeast)
    {
        var counts = new Dictionary<AddressFamily, long>();
        foreach (var family in OneHostDeployment.Families)
        {
            counts[family] = await d.WaitForPacketsAsync(family, chain, fragment, atLeast[family], ArrivalTimeout);
        }

        return counts;
    }

    private static string Render(Dictionary<AddressFamily, long> counts) =>
        string.Join("/", counts.Select(pair => $"{(pair.Key == AddressFamily.InterNetwork ? "v4" : "v6")} {pair.Value}"));
}
