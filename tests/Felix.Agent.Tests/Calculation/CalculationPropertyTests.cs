using Felix.Agent.Calculation;
using Felix.Agent.Datastore;
using Felix.Agent.Model;
using static Felix.Agent.Tests.Calculation.Cluster;

namespace Felix.Agent.Tests.Calculation;

/// <summary>
/// Random cluster histories, seeded so a failure names the case that reproduces it: whatever the
/// order of updates and wherever the flushes fall, the incremental output applied to an empty
/// dataplane must (checked by <see cref="DataplaneModel"/> at every step) never reference what it
/// has not emitted, and must end equal to computing the final cluster from scratch. The universe
/// is small on purpose (few hosts, profiles, tags and IPs) so that shared IPs, shared tags,
/// profiles used before they are defined and undo-in-one-batch happen often.
/// </summary>
public class CalculationPropertyTests
{
    private const int Cases = 1500;
    private static readonly string[] Hosts = [Me, "h2", "h3"];
    private static readonly string[] Profiles = ["p0", "p1", "p2", "p3"];
    private static readonly string[] TagNames = ["t0", "t1", "t2", "p0"];
    private static readonly string[] Ips = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "fd00::1", "fd00::2"];
    private static readonly string[] Endpoints = ["e0", "e1", "e2", "e3", "e4"];
    private static readonly string[] PoolCidrs = ["10.0.0.0/8", "192.168.0.0/16"];

    [Fact]
    public void Incremental_output_is_well_ordered_and_ends_where_a_fresh_calculation_starts()
    {
        for (var seed = 0; seed < Cases; seed++)
        {
            RunCase(seed);
        }
    }

    private static void RunCase(int seed)
    {
        var random = new Random(seed);
        var routes = random.Next(2) == 0;
        var graph = new CalculationGraph(Me, routes);
        var model = new DataplaneModel();
        var final = new Dictionary<DatastoreKey, DatastoreUpdate>();
        var synced = false;
        var steps = random.Next(1, 60);
        var syncAt = random.Next(steps);
        for (var step = 0; step < steps; step++)
        {
            var update = step == syncAt ? Synced : RandomUpdate(random);
            Record(final, update);
            graph.OnUpdate(update);
            synced |= step == syncAt;
            if (random.Next(5) == 0)
            {
                var batch = graph.Flush();
                Assert.True(synced || batch.Count == 0, $"seed {seed}: output before in sync");
                Check(seed, () => model.Apply(batch));
            }
        }
        Check(seed, () => model.Apply(graph.Flush()));

        var fresh = new CalculationGraph(Me, routes);
        foreach (var update in final.Values)
        {
            fresh.OnUpdate(update);
        }
        fresh.OnUpdate(Synced);
        var expected = new DataplaneModel();
        expected.Apply(fresh.Flush());
        Assert.True(expected.Dump().SequenceEqual(model.Dump()),
            $"seed {seed}: expected\n{string.Join("\n", expected.Dump())}\nbut the incremental dataplane holds\n{string.Join("\n", model.Dump())}");
        Assert.Equal(
            (fresh.ActiveLocalEndpoints, fresh.ActiveLocalProfiles, fresh.ActiveTags),
            (graph.ActiveLocalEndpoints, graph.ActiveLocalProfiles, graph.ActiveTags));
    }

    private static void Check(int seed, Action apply)
    {
        try
        {
            apply();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidOperationException($"seed {seed}: {e.Message}", e);
        }
    }

    private static void Record(Dictionary<DatastoreKey, DatastoreUpdate> final, DatastoreUpdate update)
    {
        switch (update)
        {
            case WorkloadEndpointChanged u: final[u.Key] = u; break;
            case WorkloadEndpointRemoved u: final.Remove(u.Key); break;
            case ProfileRulesChanged u: final[u.Key] = u; break;
            case ProfileRulesRemoved u: final.Remove(u.Key); break;
            case ProfileTagsChanged u: final[u.Key] = u; break;
            case ProfileTagsRemoved u: final.Remove(u.Key); break;
            case IpPoolChanged u: final[u.Key] = u; break;
            case IpPoolRemoved u: final.Remove(u.Key); break;
            case HostIpChanged u: final[u.Key] = u; break;
            case HostIpRemoved u: final.Remove(u.Key); break;
            default: break;
        }
    }

    private static DatastoreUpdate RandomUpdate(Random random)
    {
        var profile = Pick(random, Profiles);
        var host = Pick(random, Hosts);
        return random.Next(12) switch
        {
            < 4 => Ep(
                Pick(random, Endpoints),
                host,
                random.Next(5) == 0 ? EndpointState.Inactive : EndpointState.Active,
                Some(random, Profiles, 3),
                Some(random, Ips, 3)),
            4 => NoEp(Pick(random, Endpoints), host),
            5 or 6 => Rules(profile, [.. Some(random, TagNames, 3).Select(t => random.Next(3) == 0 ? "!" + t : t)]),
            7 => NoRules(profile),
            8 => Tags(profile, Some(random, TagNames, 2)),
            9 => NoTags(profile),
            10 => random.Next(2) == 0 ? Pool(Pick(random, PoolCidrs), random.Next(2) == 0) : NoPool(Pick(random, PoolCidrs)),
            _ => random.Next(3) == 0 ? NoHostIp(host) : HostIp(host, random.Next(2) == 0 ? "172.16.0.1" : "172.16.0.2"),
        };
    }

    private static string Pick(Random random, string[] items) => items[random.Next(items.Length)];

    /// <summary>Up to <paramref name="max"/> picks, in random order, repeats allowed (the calculation must cope).</summary>
    private static string[] Some(Random random, string[] items, int max) =>
        [.. Enumerable.Range(0, random.Next(max + 1)).Select(_ => Pick(random, items))];
}
