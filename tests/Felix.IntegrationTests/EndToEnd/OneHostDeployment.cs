using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using dotnet_etcd;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.EndToEnd;

/// <summary>
/// One host of a <see cref="Cluster"/> (with its etcd) whose workloads are all local, in profiles
/// the test writes itself, and the published agent in that host, started and restarted with the
/// settings each step of a test needs. Besides probes, what the spoofing and host-protection
/// tests read is where a packet ended: the packet counters of the agent's rules
/// (<c>iptables-nft-save -c</c>) and the kernel's own drop counters, both inside the host.
/// </summary>
internal sealed partial class OneHostDeployment : IAsyncDisposable
{
    public static readonly IReadOnlyList<AddressFamily> Families = [AddressFamily.InterNetwork, AddressFamily.InterNetworkV6];

    /// <summary>Covers an agent starting on a busy machine; it is usually ready within a couple of seconds.</summary>
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>"Exits within a few seconds" on SIGTERM, as the restart tests hold it to.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly ITestOutputHelper _output;
    private readonly Stopwatch _clock;
    private AgentProcess? _agent;

    private OneHostDeployment(Cluster cluster, EtcdClient etcd, ITestOutputHelper output, Stopwatch clock)
    {
        Cluster = cluster;
        Etcd = etcd;
        _output = output;
        _clock = clock;
    }

    public Cluster Cluster { get; }

    public EtcdClient Etcd { get; }

    public ClusterHost Host => Cluster.Hosts[0];

    public AgentProcess Agent => _agent ?? throw new InvalidOperationException("no agent started yet");

    /// <summary>
    /// A one-host cluster with <paramref name="profiles"/> (id → rules JSON, each tagged with its
    /// own id) and the pools written, and a dual-stack workload per name; no endpoint yet.
    /// </summary>
    public static async Task<OneHostDeployment> CreateAsync(ITestOutputHelper output, IReadOnlyDictionary<string, string> profiles,
        IEnumerable<string> workloadNames)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(profiles);
        var clock = Stopwatch.StartNew();
        var cluster = await Cluster.StartAsync(hostCount: 1);
        output.WriteLine($"cluster namespaces: {cluster.Namespaces.Prefix}*");
        EtcdClient? etcd = null;
        try
        {
            foreach (var name in workloadNames)
            {
                await cluster.AddWorkloadAsync(cluster.Hosts[0], name);
            }

            etcd = cluster.CreateEtcdClient();
            var pairs = new List<KeyValuePair<string, string>>
            {
                new("/calico/v1/config/InterfacePrefix", "cali"),
                new($"/calico/v1/host/{cluster.Hosts[0].Name}/bird_ip", cluster.Hosts[0].Address.ToString()),
                new("/calico/v1/ipam/v4/pool/192.168.0.0-16", $$"""{"cidr":"{{Cluster.WorkloadPool}}","masquerade":false}"""),
                new("/calico/v1/ipam/v6/pool/fd80:24e2:f998:72d6::-64", $$"""{"cidr":"{{Cluster.WorkloadPoolV6}}","masquerade":false}"""),
            };
            foreach (var (id, rules) in profiles)
            {
                pairs.Add(new(ArticleModel.RulesKey(id), rules));
                pairs.Add(new(ArticleModel.TagsKey(id), $"[\"{id}\"]"));
            }

            await ArticleWriter.PutAllAsync(etcd, pairs);
            return new OneHostDeployment(cluster, etcd, output, clock);
        }
        catch
        {
            etcd?.Dispose();
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Writes <paramref name="workload"/>'s endpoint in <paramref name="profile"/>, with
    /// <paramref name="extraNets"/> (CIDRs) after its own /32 and /128, then <c>Ready</c>.
    /// </summary>
    public async Task WriteEndpointAsync(ClusterWorkload workload, string profile, params string[] extraNets)
    {
        var endpoint = JsonNode.Parse(ArticleModel.EndpointJson(workload, profile))!.AsObject();
        foreach (var net in extraNets)
        {
            var key = IPNetwork.Parse(net).BaseAddress.AddressFamily == AddressFamily.InterNetworkV6 ? "ipv6_nets" : "ipv4_nets";
            endpoint[key]!.AsArray().Add(net);
        }

        await ArticleWriter.PutAllAsync(Etcd, [new(ArticleModel.EndpointKey(workload), endpoint.ToJsonString()), new("/calico/v1/Ready", "true")]);
    }

    /// <summary>
    /// Stops the running agent, if any, with SIGTERM (it leaves the dataplane as it is), then starts
    /// one with the nft backend plus <paramref name="settings"/> and waits until it is ready, which
    /// means it has applied its dataplane once.
    /// </summary>
    public async Task<AgentProcess> StartAgentAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        if (_agent is not null)
        {
            await _agent.SignalAsync("TERM");
            await _agent.WaitForExitAsync(StopTimeout);
        }

        // The agent picks nft in a fresh namespace anyway; naming it keeps the agent and the
        // iptables-nft-save the tests read counters with on the same backend whatever the machine's default.
        var environment = new Dictionary<string, string>(settings ?? new Dictionary<string, string>()) { ["FELIX_IPTABLESBACKEND"] = "nft" };
        _agent = await Cluster.StartAgentAsync(Host, environment);
        await _agent.WaitForReadinessAsync(ReadyTimeout);
        Log($"agent ready with {(settings is null || settings.Count == 0 ? "defaults" : string.Join(", ", settings.Select(s => $"{s.Key}={s.Value}")))}");
        return _agent;
    }

    /// <summary>
    /// The packets counted so far by the rules of <paramref name="chain"/> in the host's filter
    /// table of <paramref name="family"/> whose text contains <paramref name="fragment"/> (a
    /// comment, say). Fails when no rule matches, so a renamed comment cannot make a count of zero.
    /// </summary>
    public async Task<long> PacketsAsync(AddressFamily family, string chain, string fragment)
    {
        var save = family == AddressFamily.InterNetworkV6 ? "ip6tables-nft-save" : "iptables-nft-save";
        var text = (await Host.Namespace.ExecCheckedAsync(save, "-c", "-t", "filter")).StandardOutput;
        long packets = 0;
        var matched = 0;
        foreach (Match match in CounterLine().Matches(text))
        {
            if (match.Groups["chain"].Value == chain && match.Groups["rest"].Value.Contains(fragment, StringComparison.Ordinal))
            {
                packets += long.Parse(match.Groups["packets"].Value, CultureInfo.InvariantCulture);
                matched++;
            }
        }

        Assert.True(matched > 0, $"no rule of {chain} ({family}) contains '{fragment}':\n{text}");
        return packets;
    }

    /// <summary>
    /// Polls <see cref="PacketsAsync"/> every 20 ms until it reaches <paramref name="atLeast"/> or
    /// <paramref name="timeout"/> passes; returns the last count either way.
    /// </summary>
    public async Task<long> WaitForPacketsAsync(AddressFamily family, string chain, string fragment, long atLeast, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var packets = await PacketsAsync(family, chain, fragment);
            if (packets >= atLeast || clock.Elapsed >= timeout)
            {
                return packets;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }

    /// <summary>A counter of the host's <c>/proc/net/netstat</c> (e.g. <c>TcpExt</c>, <c>IPReversePathFilter</c>), read inside the host.</summary>
    public async Task<long> KernelCounterAsync(string group, string name)
    {
        var lines = (await Host.Namespace.ExecCheckedAsync("cat", "/proc/net/netstat")).StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // Each group is two lines: its field names, then their values.
        for (var i = 0; i + 1 < lines.Length; i += 2)
        {
            var (names, values) = (lines[i].Split(' '), lines[i + 1].Split(' '));
            if (names[0] == group + ":")
            {
                var index = Array.IndexOf(names, name);
                Assert.True(index > 0, $"{group} has no counter {name}");
                return long.Parse(values[index], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"/proc/net/netstat has no group {group}");
    }

    /// <summary>The chain of <paramref name="workload"/>'s outbound policy and anti-spoofing rules.</summary>
    public static string FromChain(ClusterWorkload workload) => $"felix-from-{workload.HostInterface["cali".Length..]}";

    /// <summary>A progress line with the time since the deployment was created.</summary>
    public void Log(string line) => _output.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:F2} s] {line}");

    public async ValueTask DisposeAsync()
    {
        Etcd.Dispose();
        await Cluster.DisposeAsync();
    }

    [GeneratedRegex(@"^\[(?<packets>\d+):\d+\] -A (?<chain>\S+) (?<rest>.*)$", RegexOptions.Multiline)]
    private static partial Regex CounterLine();
}
