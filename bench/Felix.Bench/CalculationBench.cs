using System.Diagnostics;
using System.Net;
using Felix.Agent.Calculation;
using Felix.Agent.Datastore;
using Felix.Agent.Model;

namespace Felix.Bench;

/// <summary>
/// The calculation's three figures (issue 4): the whole snapshot through the graph (N cluster
/// endpoints, P profiles, L of the endpoints local), one tag added to the profile every local
/// endpoint uses (one delta of L members), and the memory the graph retains per cluster endpoint
/// beyond the input records, which the datastore holds anyway. In-process and without etcd, so
/// what is timed is the calculation alone.
/// </summary>
internal static class CalculationBench
{
    private const string Hot = "hot";
    private const string NewTag = "new";

    public static int Run(int endpoints, int profiles, int local, int samples)
    {
        var snapshot = Snapshot(endpoints, profiles, local);
        Warm(snapshot);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var graph = new CalculationGraph("me", remoteWorkloadRoutes: false);
        var started = Stopwatch.GetTimestamp();
        foreach (var update in snapshot)
        {
            graph.OnUpdate(update);
        }
        var emitted = graph.Flush().Count;
        var full = Stopwatch.GetElapsedTime(started);
        var bytes = GC.GetTotalMemory(forceFullCollection: true) - before;
        Console.WriteLine($"calc: {endpoints} cluster endpoints, {profiles} profiles, {local} local");
        Console.WriteLine($"  full calculation: snapshot → {emitted} updates   {full.TotalMilliseconds,9:0} ms  (target ≤ 1000 ms)");

        var latencies = new List<double>();
        var members = 0;
        for (var i = 0; i < samples; i++)
        {
            started = Stopwatch.GetTimestamp();
            graph.OnUpdate(new ProfileTagsChanged(new ProfileTagsKey(Hot), new ProfileTags([NewTag])));
            var delta = graph.Flush().OfType<IpSetDeltaUpdate>().Single();
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            members = delta.Added.Count;
            graph.OnUpdate(new ProfileTagsRemoved(new ProfileTagsKey(Hot)));
            graph.Flush();
        }
        latencies.Sort();
        Console.WriteLine($"  tag added to a profile of {local} endpoints: one delta of {members}   " +
            $"p50 {latencies[latencies.Count / 2],6:0.0} ms  max {latencies[^1],6:0.0} ms  (target ≤ 20 ms)");
        Console.WriteLine($"  memory retained by the graph                {bytes / (double)endpoints,9:0} B per cluster endpoint  (target ≤ 500 B)");
        GC.KeepAlive(snapshot);
        GC.KeepAlive(graph);
        return 0;
    }

    /// <summary>Each profile allows from its own tag and the next profile's; local endpoints also use <see cref="Hot"/>.</summary>
    private static List<DatastoreUpdate> Snapshot(int endpoints, int profiles, int local)
    {
        var updates = new List<DatastoreUpdate>();
        for (var p = 0; p < profiles; p++)
        {
            var rules = new ProfileRules(
                [new Rule { Match = new RuleMatch { SrcTag = $"t{p}" } }, new Rule { Match = new RuleMatch { SrcTag = $"t{(p + 1) % profiles}" } }],
                [new Rule()]);
            updates.Add(new ProfileRulesChanged(new ProfileRulesKey($"p{p}"), rules));
            updates.Add(new ProfileTagsChanged(new ProfileTagsKey($"p{p}"), new ProfileTags([$"t{p}"])));
        }
        updates.Add(new ProfileRulesChanged(new ProfileRulesKey(Hot), new ProfileRules([new Rule { Match = new RuleMatch { SrcTag = NewTag } }], [])));
        for (var i = 0; i < endpoints; i++)
        {
            var isLocal = i < local;
            var ip = new IPAddress([10, (byte)(i >> 16), (byte)(i >> 8), (byte)i]);
            string[] endpointProfiles = isLocal ? [Hot, $"p{i % profiles}"] : [$"p{i % profiles}"];
            var endpoint = new WorkloadEndpoint(EndpointState.Active, $"cali{i:x11}", null, endpointProfiles, [new IPNetwork(ip, 32)], [], null, null);
            updates.Add(new WorkloadEndpointChanged(new WorkloadEndpointKey(isLocal ? "me" : $"host{i % 100}", "k8s", $"w{i}", "eth0"), endpoint));
        }
        updates.Add(new DatastoreInSync());
        return updates;
    }

    /// <summary>Runs a small slice first, so the figures do not include one-time type loading.</summary>
    private static void Warm(List<DatastoreUpdate> snapshot)
    {
        var graph = new CalculationGraph("me", remoteWorkloadRoutes: false);
        foreach (var update in snapshot.Take(5_000).Append(new DatastoreInSync()))
        {
            graph.OnUpdate(update);
        }
        graph.Flush();
    }
}
