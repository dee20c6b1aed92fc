using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using dotnet_etcd;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.EndToEnd;

/// <summary>
/// The article's model live on a two-host <see cref="Cluster"/>: every workload listening on the
/// article's ports, the model in etcd, BGP stand-in routes between the hosts, and the published
/// agent running in each host, both ready. What the end-to-end tests of live changes, endpoint
/// life cycles and agent restarts start from; they then change etcd, the links or the agents and
/// look at the probes, the kernel state inside the hosts and the agents' metrics.
/// </summary>
internal sealed class LiveArticleCluster : IAsyncDisposable
{
    /// <summary>
    /// The test collection of every test on a live cluster: each runs two agents and a few hundred
    /// probes, so they run one at a time, keeping the measured latencies about the agents rather
    /// than about each other's load.
    /// </summary>
    public const string Collection = "live article cluster";

    /// <summary>One SYN and no retransmit: a DROP costs this per probe, and probes run in parallel.</summary>
    public static readonly ProbeSettings Probing = new(TimeSpan.FromSeconds(1), 64);

    /// <summary>Covers both agents starting on a busy machine; readiness usually comes within a couple of seconds.</summary>
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    public static readonly IReadOnlyList<AddressFamily> Families = [AddressFamily.InterNetwork, AddressFamily.InterNetworkV6];

    // The agent picks nft in a fresh namespace anyway (both backends empty); naming it keeps the
    // agent and the iptables-save the tests read with on the same backend whatever the machine's default.
    private static readonly Dictionary<string, string> AgentSettings = new() { ["FELIX_IPTABLESBACKEND"] = "nft" };

    private readonly Dictionary<string, AgentProcess> _agents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _agentSettings;
    private readonly ITestOutputHelper _output;
    private readonly Stopwatch _clock;

    private LiveArticleCluster(Cluster cluster, ArticleModel model, EtcdClient etcd, ITestOutputHelper output, Stopwatch clock,
        IReadOnlyDictionary<string, string>? agentSettings)
    {
        Cluster = cluster;
        Model = model;
        Etcd = etcd;
        _output = output;
        _clock = clock;
        _agentSettings = new Dictionary<string, string>(AgentSettings);
        foreach (var (name, value) in agentSettings ?? new Dictionary<string, string>())
        {
            _agentSettings[name] = value;
        }
    }

    public Cluster Cluster { get; }

    public ArticleModel Model { get; }

    public EtcdClient Etcd { get; }

    public ClusterHost Host1 => Cluster.Hosts[0];

    public ClusterHost Host2 => Cluster.Hosts[1];

    /// <summary>The agent running in <paramref name="host"/> now (the last one started there).</summary>
    public AgentProcess Agent(ClusterHost host) => _agents[host.Name];

    /// <summary>
    /// Builds the cluster and the model, starts both agents and waits until both are ready and the
    /// article's matrix holds over both families (bounded: a fresh dataplane may still be resolving
    /// neighbours for a moment after the agents report ready). <paramref name="agentSettings"/> are
    /// extra agent environment variables (short refresh intervals, a backend), for every agent
    /// this cluster starts.
    /// </summary>
    public static async Task<LiveArticleCluster> StartAsync(ITestOutputHelper output, IReadOnlyDictionary<string, string>? agentSettings = null)
    {
        var clock = Stopwatch.StartNew();
        var cluster = await Cluster.StartAsync(hostCount: 2);
        output.WriteLine($"cluster namespaces: {cluster.Namespaces.Prefix}*");
        EtcdClient? etcd = null;
        try
        {
            var model = await ArticleModel.PlaceAsync(cluster);
            foreach (var workload in model.Workloads)
            {
                cluster.Listen(workload);
            }

            etcd = cluster.CreateEtcdClient();
            await ArticleWriter.WriteAsync(etcd, model);
            await cluster.AddBgpRoutesAsync();
            var live = new LiveArticleCluster(cluster, model, etcd, output, clock, agentSettings);
            await Task.WhenAll(cluster.Hosts.Select(live.StartAgentAsync));
            live.Log("both agents ready");
            await live.AssertMatrixAsync(model.Expected(), model.Workloads, "the article's matrix with both agents ready");
            return live;
        }
        catch
        {
            etcd?.Dispose();
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts an agent in <paramref name="host"/> and waits until its <c>/readiness</c> answers 200.</summary>
    public async Task<AgentProcess> StartAgentAsync(ClusterHost host)
    {
        var agent = await Cluster.StartAgentAsync(host, _agentSettings);
        _agents[host.Name] = agent;
        await agent.WaitForReadinessAsync(ReadyTimeout);
        return agent;
    }


    /// <summary>
    /// Waits (bounded: at most 10 rounds of re-probing the differing cells) until the probed
    /// matrix of <paramref name="expected"/> matches over both families, and fails with both
    /// tables and the agents' output when it does not.
    /// </summary>
    public async Task AssertMatrixAsync(ExpectedConnectivity expected, IReadOnlyList<ClusterWorkload> workloads, string what)
    {
        var clock = Stopwatch.StartNew();
        var matrices = await Task.WhenAll(Families.Select(family =>
            ConnectivityMatrix.WaitUntilMatchesAsync(expected, workloads, family, maxAttempts: 10, settings: Probing)));
        foreach (var matrix in matrices)
        {
            Assert.True(matrix.Matches(expected), $"{what}:\n{matrix.DescribeDifferences(expected)}\n{AgentOutputs()}");
        }

        Log($"{what}: {expected.Count} cells x {Families.Count} families match ({clock.ElapsedMilliseconds} ms)");
    }

    /// <summary>Probes each cell once over both families (no waiting for convergence) and fails on any difference.</summary>
    public async Task AssertCellsNowAsync(ExpectedConnectivity expected, IReadOnlyList<ClusterWorkload> workloads, string what)
    {
        var matrices = await Task.WhenAll(Families.Select(family => ConnectivityMatrix.ProbeAsync(expected, workloads, family, Probing)));
        foreach (var matrix in matrices)
        {
            Assert.True(matrix.Matches(expected), $"{what}:\n{matrix.DescribeDifferences(expected)}\n{AgentOutputs()}");
        }

        Log($"{what}: {expected.Count} cells x {Families.Count} families as expected");
    }

    /// <summary>
    /// Probes one cell every 20 ms or so, each probe bounded by <paramref name="probeTimeout"/>, until
    /// one sees it <paramref name="open"/> (or not), at most until <paramref name="clock"/> reads
    /// <paramref name="until"/>. Returns when the first probe that saw it <em>started</em> (its SYN
    /// left then, so the change was in force by then), or null. A "closed" seen by a short probe is
    /// confirmed by a probe of the full timeout before it counts, so a slow handshake is never taken
    /// for the change.
    /// </summary>
    public static async Task<TimeSpan?> TimeUntilAsync(Stopwatch clock, ClusterWorkload from, ClusterWorkload to, int port,
        AddressFamily family, bool open, TimeSpan until, TimeSpan probeTimeout)
    {
        while (clock.Elapsed < until)
        {
            var started = clock.Elapsed;
            var result = await Probe.ConnectAsync(from.Namespace, to.AddressOf(family), port, probeTimeout);
            if (result.IsOpen == open
                && (open || !(await Probe.ConnectAsync(from.Namespace, to.AddressOf(family), port, Probing.Timeout)).IsOpen))
            {
                return started;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }

        return null;
    }

    /// <summary>The <c>filter</c> table inside <paramref name="host"/> as the agent's backend (nft) saves it.</summary>
    public static async Task<string> SaveFilterTableAsync(ClusterHost host, AddressFamily family) =>
        (await host.Namespace.ExecCheckedAsync(SaveCommand(family), "-t", "filter")).StandardOutput;

    /// <summary>
    /// What the agent owns in <paramref name="host"/>, as text to compare before and after: every
    /// iptables table of both families without what changes on its own (the generated-at comments,
    /// the packet counters on chain lines), the ipsets (sorted: members are listed in hash order)
    /// and the routes of both families.
    /// </summary>
    public static async Task<string> KernelStateAsync(ClusterHost host)
    {
        var text = new List<string>();
        foreach (var family in Families)
        {
            var saved = (await host.Namespace.ExecCheckedAsync(SaveCommand(family))).StandardOutput.Split('\n');
            text.AddRange(saved.Where(line => !line.StartsWith('#')).Select(line => line.StartsWith(':') ? line[..line.LastIndexOf(' ')] : line));
            var flag = family == AddressFamily.InterNetworkV6 ? "-6" : "-4";
            text.AddRange((await host.Namespace.IpCheckedAsync(flag, "route", "show")).StandardOutput.Split('\n'));
        }

        text.AddRange((await host.Namespace.ExecCheckedAsync("ipset", "save")).StandardOutput.Split('\n').Order(StringComparer.Ordinal));
        return string.Join('\n', text);
    }

    /// <summary>Whether the <c>filter</c> table of <paramref name="family"/> in <paramref name="host"/> declares <paramref name="chain"/>.</summary>
    public static async Task<bool> HasChainAsync(ClusterHost host, AddressFamily family, string chain) =>
        (await SaveFilterTableAsync(host, family)).Split('\n').Any(line => line.StartsWith($":{chain} ", StringComparison.Ordinal));

    /// <summary>The host's routes to exactly <paramref name="address"/> (/32 or /128), as <c>ip route show</c> prints them.</summary>
    public static async Task<string> RoutesToAsync(ClusterHost host, IPAddress address)
    {
        var (flag, length) = address.AddressFamily == AddressFamily.InterNetworkV6 ? ("-6", 128) : ("-4", 32);
        var result = await host.Namespace.IpCheckedAsync(flag, "route", "show", "exact", $"{address}/{length}");
        return result.StandardOutput.Trim();
    }

    /// <summary>
    /// Polls <paramref name="condition"/> every 20 ms until it holds or <paramref name="timeout"/>
    /// passes; returns how long it took, or fails with <paramref name="what"/> and the agents' output.
    /// </summary>
    public async Task<TimeSpan> WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await condition())
            {
                return clock.Elapsed;
            }

            if (clock.Elapsed >= timeout)
            {
                Assert.Fail($"{what}: not within {timeout}\n{AgentOutputs()}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }

    /// <summary>The agent's Prometheus samples whose name is <paramref name="metric"/>: labels text (or empty) → value.</summary>
    public static async Task<IReadOnlyDictionary<string, double>> ReadMetricAsync(AgentProcess agent, string metric)
    {
        using var http = AgentProcess.CreateHttpClient(TimeSpan.FromSeconds(5));
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{agent.MetricsPort}/metrics"));
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(metric, StringComparison.Ordinal) || line.Length == metric.Length || line[metric.Length] is not ('{' or ' '))
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            samples[line[metric.Length..space].Trim()] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }

        return samples;
    }

    private static string SaveCommand(AddressFamily family) =>
        family == AddressFamily.InterNetworkV6 ? "ip6tables-nft-save" : "iptables-nft-save";

    /// <summary>Everything both agents printed, for failure messages.</summary>
    public string AgentOutputs() =>
        string.Join('\n', _agents.Select(pair => $"--- agent in {pair.Key}:\n{pair.Value.Output()}"));

    /// <summary>A progress line with the time since the cluster was started.</summary>
    public void Log(string line) => _output.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:F2} s] {line}");

    public async ValueTask DisposeAsync()
    {
        Etcd.Dispose();
        await Cluster.DisposeAsync();
    }
}
