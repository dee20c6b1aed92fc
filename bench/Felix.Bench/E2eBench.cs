using System.Diagnostics;
using Felix.Agent.Datastore.Etcd;
using Felix.Dataplane.Exec;
using Felix.Dataplane.Netlink;

namespace Felix.Bench;

/// <summary>
/// End to end: a real etcd and the shipped agent binary, in the bench's namespace (this scenario
/// runs inside it, see <see cref="BenchNamespace.RunInsideAsync"/>), etcd on its loopback. For each
/// size, smallest first, the cluster of <see cref="E2eModel"/> grows to that many endpoints on this
/// host (veths by one <c>ip -batch</c>, keys by etcd transactions), a fresh agent starts and is
/// awaited on <c>/readiness</c>, and <see cref="E2eSamples"/> measures a new endpoint (put → chain
/// and route) and a tag change (put → set member) against their floors. The agent is stopped
/// between sizes, so the larger size's agent starts over a kernel the smaller one programmed, as
/// after a restart. Targets (full runs only): the new endpoint's p50 within
/// <see cref="OverFloorTargetMillis"/> of its floor at every size, and growing by at most
/// <see cref="RatioTarget"/>x from the smallest size to the largest.
/// </summary>
internal static class E2eBench
{
    private const double RatioTarget = 1.5;
    private const double OverFloorTargetMillis = 15;

    public static async Task<int> RunAsync(string agentBinary, int[] sizes, int samples, bool targets)
    {
        if (!BenchNamespace.IsInside)
        {
            Console.Error.WriteLine("e2e: must run inside its namespace");
            return 1;
        }
        if (!File.Exists(agentBinary))
        {
            Console.Error.WriteLine($"e2e: missing agent binary {agentBinary} (pass --aot PATH, or 'dotnet publish src/Felix.Agent -c Release -o out/felix')");
            return 1;
        }
        Console.WriteLine($"e2e: etcd and the agent ({agentBinary}; nft, IPv4) in a bench namespace, {string.Join(" then ", sizes)} local endpoints; " +
            $"{samples} samples per figure (+1 warm-up), timed from the start of the etcd put{(targets ? "" : "; quick: no targets")}");
        await using var netns = await BenchNamespace.CreateAsync();
        try
        {
            await using var etcd = await BenchEtcd.StartAsync();
            using var connection = new EtcdConnection(new EtcdConnectionOptions([new Uri(etcd.ClientUrl)], null, null, null));
            using var probe = KernelProbe.Open();
            using var links = RouteNetlink.Open();
            await E2eModel.LoadAsync(connection, E2eModel.Cluster());
            // The agent runs IPv4 only. With IPv6 on, each of 20k new links starts addrconf (a link-local
            // address, DAD, router solicitations): creating them took over a minute instead of 20 s here,
            // and its timers would keep taking CPU from the agent during the samples.
            await netns.RunCheckedAsync("sysctl", ["-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
            var sampleEndpoints = Enumerable.Range(E2eModel.FirstSample, samples + 1).ToList();
            await CreateVethsAsync(netns, sampleEndpoints);
            var run = new Run(agentBinary, etcd.ClientUrl, connection, probe, netns, links, sampleEndpoints, targets);
            var existing = 0;
            var newEndpoint = new List<(double Agent, double Floor)>();
            foreach (var size in sizes)
            {
                var watch = Stopwatch.StartNew();
                await CreateVethsAsync(netns, Enumerable.Range(existing, size - existing));
                var veths = watch.Elapsed;
                watch.Restart();
                await E2eModel.LoadAsync(connection, E2eModel.Endpoints(existing, size));
                var load = watch.Elapsed;
                existing = size;
                var indexes = links.ListLinks().ToDictionary(l => l.Name, l => l.Index, StringComparer.Ordinal);
                var setup = $"  {size} endpoints: veths {veths.TotalSeconds:0.0} s, etcd load {load.TotalSeconds:0.0} s, ";
                newEndpoint.Add(await MeasureSizeAsync(run, size, indexes, setup));
            }
            if (sizes.Length > 1)
            {
                var ratio = newEndpoint[^1].Agent / newEndpoint[0].Agent;
                Console.WriteLine($"  new endpoint p50 at {sizes[^1]} / at {sizes[0]} endpoints: {ratio:0.00}" +
                    (targets ? $" (target ≤ {RatioTarget}: {Verdict(ratio <= RatioTarget)})" : "") +
                    $"; its floor's ratio: {newEndpoint[^1].Floor / newEndpoint[0].Floor:0.00}");
            }
            return 0;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or NetlinkException or Grpc.Core.RpcException or CommandException)
        {
            Console.Error.WriteLine($"e2e: {e.Message}");
            return 1;
        }
    }

    /// <summary>One <c>ip -batch</c> for all of them: 10k veth pairs take tens of seconds, longer than the namespace's setup timeout.</summary>
    private static async Task CreateVethsAsync(BenchNamespace netns, IEnumerable<int> endpoints)
    {
        var result = await netns.RunAsync(new Command("ip", ["-batch", "-"], E2eModel.Veths(endpoints), TimeSpan.FromMinutes(10)), CancellationToken.None);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"ip -batch creating veths: {result.StandardError.Trim()}");
        }
    }

    /// <summary>Starts an agent over the cluster as it is, measures both figures, prints them, and returns the new endpoint's p50 and its floor's.</summary>
    private static async Task<(double Agent, double Floor)> MeasureSizeAsync(Run run, int size, Dictionary<string, int> indexes, string setup)
    {
        await using var agent = E2eAgent.Start(run.AgentBinary, E2eModel.Host, run.EtcdUrl);
        // The first full apply of 10k endpoints takes seconds, more on a loaded machine: bounded, but generously.
        var ready = await agent.WaitReadyAsync(TimeSpan.FromSeconds(60) + (size * TimeSpan.FromMilliseconds(20)));
        var routes = run.Links.ListRoutes(Felix.Dataplane.IpVersion.V4, E2eSamples.RouteProtocol).Count;
        Console.WriteLine($"{setup}agent ready in {ready.TotalSeconds:0.0} s (its first full apply {agent.FirstApplyMillis:0} ms), {routes} routes");
        if (routes != size)
        {
            throw new InvalidOperationException($"the ready agent programmed {routes} routes for {size} endpoints");
        }

        var sampler = new E2eSamples(new GrpcEtcdStore(run.Connection), run.Probe, run.Netns, agent);
        var endpoint = await sampler.NewEndpointsAsync(run.SampleEndpoints, indexes);
        var (floor, agentP50) = (Median(endpoint.Floor), Median([.. endpoint.Agent.Select(s => s.Millis)]));
        var over = agentP50 - floor;
        Console.WriteLine($"{Label($"new endpoint floor: iptables-nft-restore --noflush, one {endpoint.Rules}-rule chain")}p50 {floor,7:0.0} ms");
        Console.WriteLine($"{Label("new endpoint agent: put → felix-to chain and route exist")}p50 {agentP50,7:0.0} ms  " +
            $"p99 {Percentile([.. endpoint.Agent.Select(s => s.Millis)], 99),7:0.0} ms  ({over:+0.0;-0.0} ms over floor" +
            (run.Targets ? $", target ≤ +{OverFloorTargetMillis} ms: {Verdict(over <= OverFloorTargetMillis)})" : ")"));
        PrintBreakdown(endpoint.Agent, routeAndChain: true);

        var members = Enumerable.Range(0, size).Count(e => e % 3 == 1);
        var (tag, tagFloor) = await sampler.TagChangesAsync(run.SampleEndpoints.Count - 1, members);
        var tagP50 = Median([.. tag.Select(s => s.Millis)]);
        Console.WriteLine($"{Label($"tag change floor: ipset add of one member ({members}-member set)")}p50 {Median(tagFloor),7:0.0} ms");
        Console.WriteLine($"{Label($"tag change agent: put tags → member of {E2eModel.TagSet}")}p50 {tagP50,7:0.0} ms  " +
            $"p99 {Percentile([.. tag.Select(s => s.Millis)], 99),7:0.0} ms  ({tagP50 - Median(tagFloor):+0.0;-0.0} ms over floor)");
        PrintBreakdown(tag, routeAndChain: false);
        return (agentP50, floor);
    }

    /// <summary>
    /// Where the time went: when the agent's apply began after the put and how long it ran (from its
    /// "Dataplane applied in" lines), and, for a new endpoint, when the route and the chain were seen.
    /// </summary>
    private static void PrintBreakdown(List<E2eSamples.Sample> samples, bool routeAndChain)
    {
        var logged = samples.Where(s => s.Applies > 0).ToList();
        var line = logged.Count == 0
            ? "      no apply logged (is the agent logging at DEBUG?)"
            : $"      agent's apply began p50 {Median([.. logged.Select(s => s.ApplyStartMillis)]):0.0} ms " +
              $"(max {logged.Max(s => s.ApplyStartMillis):0.0} ms) after the put, " +
              $"lasted p50 {Median([.. logged.Select(s => s.ApplyMillis)]):0.0} ms (applies per sample: at most {logged.Max(s => s.Applies)})";
        Console.WriteLine(!routeAndChain ? line
            : $"{line}; route seen at p50 {Median([.. samples.Select(s => s.FirstMillis)]):0.0} ms, chain at p50 {Median([.. samples.Select(s => s.SecondMillis)]):0.0} ms");
    }

    /// <summary>What every size's measurement shares: the agent to start, the cluster's etcd, and the bench's handles on the namespace.</summary>
    private sealed record Run(string AgentBinary, string EtcdUrl, EtcdConnection Connection, KernelProbe Probe, BenchNamespace Netns,
        RouteNetlink Links, List<int> SampleEndpoints, bool Targets);

    private static string Label(string text) => $"    {text,-72}";

    private static string Verdict(bool met) => met ? "OK" : "MISS";

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static double Percentile(List<double> values, int percentile)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1)];
    }
}
