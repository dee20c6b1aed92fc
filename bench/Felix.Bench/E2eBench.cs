using System.Diagnostics;
using Felix.Agent.Datastore.Etcd;
using Felix.Dataplane.Exec;
using Felix.Dataplane.Netlink;

namespace Felix.Bench;

/// <summary>What one end-to-end run measures: one backend, its sizes (local endpoints, smallest first), the cluster around them, and how many samples.</summary>
internal sealed record E2eSettings(string Backend, int[] Sizes, int Cluster, int Profiles, int Samples, int ChurnRate, int ChurnSeconds, bool Targets)
{
    public static E2eSettings Quick(string backend) => new(backend, [100], 1_000, 20, 10, 200, 5, Targets: false);

    public static E2eSettings Full(string backend) => new(backend, [100, 1_000, 10_000], 100_000, 1_000, 200, 200, 60, Targets: true);
}

/// <summary>What every size's measurement shares: the settings, etcd, the bench's handles on the namespace, the sample endpoints and the report.</summary>
internal sealed record E2eRun(E2eSettings Settings, string AgentBinary, string EtcdUrl, EtcdConnection Connection, KernelProbe Probe,
    BenchNamespace Netns, RouteNetlink Links, List<int> SampleEndpoints, E2eReport Report)
{
    public E2eAgent StartAgent() => E2eAgent.Start(AgentBinary, E2eModel.Host, EtcdUrl, Settings.Backend, remoteRoutes: Settings.Cluster > 0);
}

/// <summary>
/// End to end: a real etcd and the shipped agent binary, in the bench's namespace (this scenario
/// runs inside it, see <see cref="BenchNamespace.RunInsideAsync"/>, one namespace per backend),
/// etcd on its loopback. The cluster of <see cref="E2eModel"/> is loaded (remote endpoints, filler
/// profiles); then for each size, smallest first, the local endpoints grow to that many (veths by
/// one <c>ip -batch</c>, keys by etcd transactions) and <see cref="E2eSize"/> measures every
/// scenario. At the end, one table per scenario (<see cref="E2eReport"/>), and the endpoint add's
/// p50 at the largest size over the smallest, whose target (full runs, nft) is
/// <see cref="RatioTarget"/>.
/// </summary>
internal static class E2eBench
{
    private const double RatioTarget = 1.5;

    public static async Task<int> RunAsync(string agentBinary, E2eSettings settings)
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
        Console.WriteLine($"e2e ({settings.Backend}): etcd and the agent ({agentBinary}; IPv4) in a bench namespace; {string.Join(" then ", settings.Sizes)} local endpoints, " +
            $"{settings.Cluster} remote ones, {settings.Profiles} filler profiles; {settings.Samples} samples per figure (+1 warm-up), timed from the start of the etcd put; " +
            $"churn {settings.ChurnRate}/s for {settings.ChurnSeconds} s{(settings.Targets ? "" : "; quick: no targets")}; load average {E2eReport.LoadAverage()}");
        var report = new E2eReport(settings.Backend);
        await using var netns = await BenchNamespace.CreateAsync();
        try
        {
            await using var etcd = await BenchEtcd.StartAsync();
            using var connection = new EtcdConnection(new EtcdConnectionOptions([new Uri(etcd.ClientUrl)], null, null, null));
            using var probe = KernelProbe.Open(settings.Backend);
            using var links = RouteNetlink.Open();
            // The agent runs IPv4 only. With IPv6 on, each of 20k new links starts addrconf (a link-local
            // address, DAD, router solicitations): creating them took over a minute instead of 20 s here,
            // and its timers would keep taking CPU from the agent during the samples.
            await netns.RunCheckedAsync("sysctl", ["-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
            // The other hosts' bird_ips are on this link's subnet, so the remote routes' gateways are reachable.
            // A veth pair, both ends up (so it has a carrier), because not every kernel has the dummy link type.
            await RunBatchAsync(netns, $"link add {E2eModel.LanLink} type veth peer name {E2eModel.LanLink}-peer\n" +
                $"address add {E2eModel.LanAddress} dev {E2eModel.LanLink}\nlink set {E2eModel.LanLink} up\nlink set {E2eModel.LanLink}-peer up\n");
            var watch = Stopwatch.StartNew();
            await E2eModel.LoadAsync(connection, E2eModel.Cluster().Concat(E2eModel.FillerProfiles(settings.Profiles))
                .Concat(E2eModel.RemoteEndpoints(settings.Cluster, settings.Profiles)));
            Console.WriteLine($"  cluster loaded into etcd in {watch.Elapsed.TotalSeconds:0.0} s");
            var sampleEndpoints = Enumerable.Range(E2eModel.FirstSample, settings.Samples + 1).ToList();
            await RunBatchAsync(netns, E2eModel.Veths(sampleEndpoints));
            var run = new E2eRun(settings, agentBinary, etcd.ClientUrl, connection, probe, netns, links, sampleEndpoints, report);
            var existing = 0;
            var addP50 = new List<double>();
            foreach (var size in settings.Sizes)
            {
                watch.Restart();
                await RunBatchAsync(netns, E2eModel.Veths(Enumerable.Range(existing, size - existing)));
                var veths = watch.Elapsed;
                watch.Restart();
                await E2eModel.LoadAsync(connection, E2eModel.Endpoints(existing, size, settings.Profiles));
                Console.WriteLine($"  {size} endpoints: veths {veths.TotalSeconds:0.0} s, etcd load {watch.Elapsed.TotalSeconds:0.0} s; load average {E2eReport.LoadAverage()}");
                existing = size;
                var indexes = links.ListLinks().ToDictionary(l => l.Name, l => l.Index, StringComparer.Ordinal);
                addP50.Add(await E2eSize.MeasureAsync(run, size, indexes));
            }
            if (settings.Sizes.Length > 1)
            {
                var ratio = addP50[^1] / addP50[0];
                report.Add(E2eReport.Scenarios[2], $"{settings.Sizes[^1]} / {settings.Sizes[0]}", settings.Cluster, new E2eReport.Cells(
                    $"p50 ratio {ratio:0.00}", "—", "—", double.NaN,
                    E2eReport.Verdict(settings.Targets && settings.Backend == "nft", ratio <= RatioTarget, $"≤ {RatioTarget}")));
            }
            report.Print();
            return 0;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or NetlinkException or Grpc.Core.RpcException or CommandException
            or HttpRequestException or IOException)
        {
            Console.Error.WriteLine($"e2e ({settings.Backend}): {e.Message}");
            report.Print();
            return 1;
        }
    }

    /// <summary>One <c>ip -batch</c>: 10k veth pairs take tens of seconds, longer than the namespace's setup timeout.</summary>
    private static async Task RunBatchAsync(BenchNamespace netns, string script)
    {
        var result = await netns.RunAsync(new Command("ip", ["-batch", "-"], script, TimeSpan.FromMinutes(10)), CancellationToken.None);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"ip -batch: {result.StandardError.Trim()}");
        }
    }
}
