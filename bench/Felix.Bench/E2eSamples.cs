using System.Diagnostics;
using Felix.Agent.Datastore.Etcd;
using Felix.Dataplane;
using Felix.Dataplane.Netlink;

namespace Felix.Bench;

/// <summary>
/// The end-to-end samples at one size, against a running agent, each timed from the start of its
/// etcd put (the put's own round trip, about a millisecond, is included) until the bench's
/// <see cref="KernelProbe"/> sees the result, polled every millisecond or so, at most
/// <see cref="Timeout"/>. After every sample the bench waits until the agent has logged the apply
/// that made it (a removed endpoint's apply goes on after its chain and route are gone, flushing
/// conntrack) and then <see cref="Settle"/> more, so each starts from the same table, with the
/// agent idle and its apply throttle open: the figure is one isolated change, not a queue of them.
/// What the probe saw is checked after every sample, untimed, against the tools (<c>iptables -S</c>,
/// <c>ip route show</c>, <c>ipset test</c>). The floors alternate with the samples, in the same
/// table, the first pair a warm-up that is not counted.
/// </summary>
internal sealed partial class E2eSamples(GrpcEtcdStore store, KernelProbe probe, BenchNamespace netns, RouteNetlink links, E2eAgent agent, string backend, int fillers)
{
    public const byte RouteProtocol = 80;

    /// <summary>
    /// One sample, in milliseconds from the put's start: until the result was seen (the later of
    /// its two conditions), until each condition was, and until the agent's first apply meanwhile
    /// began (from its "Dataplane applied in" line: when the bench read it, less the duration it
    /// logs), with those applies' total duration and count.
    /// </summary>
    public sealed record Sample(double Millis, double FirstMillis, double SecondMillis, double ApplyStartMillis, double ApplyMillis, int Applies);

    /// <summary>One figure's samples and floors, and what the floor did (for the table).</summary>
    public sealed record Figures(List<Sample> Agent, List<double> Floor, string FloorWhat);

    /// <summary>
    /// Endpoints added and removed, one at a time, each with its veth already up: from the put until
    /// both its <c>felix-to-</c> chain and its route exist, and from the delete until both are gone.
    /// Floors: one restore declaring and filling a chain with the same rules plus one route added by
    /// netlink; one restore deleting that chain plus the route's deletion.
    /// </summary>
    public async Task<(Figures Add, Figures Remove)> EndpointsAsync(IReadOnlyList<int> endpoints, IReadOnlyDictionary<string, int> linkIndexes)
    {
        var (add, remove, addFloor, removeFloor) = (new List<Sample>(), new List<Sample>(), new List<double>(), new List<double>());
        string? rules = null;
        for (var i = 0; i < endpoints.Count; i++)
        {
            var e = endpoints[i];
            var (chain, address, link) = ($"felix-to-{E2eModel.ChainSuffix(e)}", E2eModel.Address(e), linkIndexes[E2eModel.InterfaceName(e)]);
            if (rules is not null)
            {
                var (added, removed) = await FloorChainAndRouteAsync(rules, link);
                addFloor.Add(added);
                removeFloor.Add(removed);
            }
            var started = Stopwatch.GetTimestamp();
            await store.PutAsync(E2eModel.Key(e), E2eModel.Endpoint(e, fillers), 0, CancellationToken.None);
            var (routeAt, chainAt) = await PollAsync(
                $"the route and chain of new endpoint {e}", () => probe.HasRoute(address, link, RouteProtocol), () => probe.HasChain("filter", chain));
            var sample = await SampleAsync(started, routeAt, chainAt);
            var listed = await CheckedChainAsync(chain, address, E2eModel.InterfaceName(e));
            await SettleAsync(started);
            if (rules is null)
            {
                // The floor's warm-up, with the rules of the warm-up sample's chain.
                rules = listed;
                await FloorChainAndRouteAsync(rules, link);
            }
            else
            {
                add.Add(sample);
            }

            started = Stopwatch.GetTimestamp();
            await store.DeleteAsync(E2eModel.Key(e), CancellationToken.None);
            (routeAt, chainAt) = await PollAsync(
                $"the removal of endpoint {e}", () => !probe.HasRoute(address, link, RouteProtocol), () => !probe.HasChain("filter", chain));
            sample = await SampleAsync(started, routeAt, chainAt);
            if (i > 0)
            {
                remove.Add(sample);
            }
            await SettleAsync(started);
        }
        var ruleCount = rules!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        return (new Figures(add, addFloor, $"{Restore} --noflush of one {ruleCount}-rule chain + one route (netlink)"),
            new Figures(remove, removeFloor, $"{Restore} --noflush deleting that chain + its route"));
    }

    /// <summary>
    /// The canary profile's tags changed so that endpoint 0's address enters <see cref="E2eModel.TagSet"/>:
    /// from the put until the set holds it. Floor: <c>ipset add</c> of one member to a set as large.
    /// </summary>
    public async Task<Figures> TagChangesAsync(int samples, int setMembers)
    {
        await CreateFloorSetAsync(setMembers);
        var (agentSamples, floor) = (new List<Sample>(), new List<double>());
        var address = E2eModel.Address(0);
        for (var i = 0; i <= samples; i++)
        {
            var floorMillis = await FloorMemberAsync();
            var started = Stopwatch.GetTimestamp();
            await store.PutAsync(E2eModel.CanaryTagsKey, E2eModel.CanaryTags(inSet: true), 0, CancellationToken.None);
            var (memberAt, _) = await PollAsync($"{address} in {E2eModel.TagSet}", () => probe.HasMember(E2eModel.TagSet, address), static () => true);
            var sample = await SampleAsync(started, memberAt, memberAt);
            var tested = await netns.RunAsync(new("ipset", ["test", E2eModel.TagSet, address.ToString()], null, Timeout), CancellationToken.None);
            if (!tested.Succeeded)
            {
                throw new InvalidOperationException($"the probe saw {address} in {E2eModel.TagSet}, ipset test does not: {tested.StandardError.Trim()}");
            }
            if (i > 0)
            {
                agentSamples.Add(sample);
                floor.Add(floorMillis);
            }
            await SettleAsync(started);

            var undone = Stopwatch.GetTimestamp();
            await store.PutAsync(E2eModel.CanaryTagsKey, E2eModel.CanaryTags(inSet: false), 0, CancellationToken.None);
            await PollAsync($"{address} out of {E2eModel.TagSet}", () => !probe.HasMember(E2eModel.TagSet, address), static () => true);
            await SettleAsync(undone);
        }
        await netns.RunCheckedAsync("ipset", ["destroy", FloorSet]);
        return new Figures(agentSamples, floor, $"ipset add of one member ({setMembers}-member set)");
    }

    /// <summary>
    /// Profile db's inbound rules changed (a log rule with a new prefix each time, appended): from the
    /// put until its chain carries the prefix. Every local endpoint with db jumps to that chain, and
    /// none of theirs changes. Floor: one restore rewriting a chain with as many rules.
    /// </summary>
    public async Task<Figures> RuleChangesAsync(int samples)
    {
        var (agentSamples, floor) = (new List<Sample>(), new List<double>());
        string? rules = null;
        for (var i = 0; i <= samples; i++)
        {
            var prefix = $"bench-r{i:d4}";
            var floorMillis = rules is null ? 0 : (await FloorChainAndRouteAsync(rules, linkIndex: null)).Added;
            var started = Stopwatch.GetTimestamp();
            await store.PutAsync(E2eModel.RuleChangeKey, E2eModel.DbRules(prefix), 0, CancellationToken.None);
            var (seenAt, _) = await PollAsync($"{prefix} in {E2eModel.RuleChangeChain}",
                () => probe.ChainContains("filter", E2eModel.RuleChangeChain, prefix), static () => true);
            var sample = await SampleAsync(started, seenAt, seenAt);
            var listed = await ListChainAsync(E2eModel.RuleChangeChain);
            if (!listed.Contains(prefix, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"the probe saw {prefix} in {E2eModel.RuleChangeChain}; {backend} lists:\n{listed}");
            }
            if (rules is null)
            {
                rules = listed;
                await FloorChainAndRouteAsync(rules, linkIndex: null);
            }
            else
            {
                agentSamples.Add(sample);
                floor.Add(floorMillis);
            }
            await SettleAsync(started);
        }
        await store.PutAsync(E2eModel.RuleChangeKey, E2eModel.DbRules(null), 0, CancellationToken.None);
        var ruleCount = rules!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        return new Figures(agentSamples, floor, $"{Restore} --noflush of one {ruleCount}-rule chain");
    }

    /// <summary>The agent's route to <paramref name="address"/> exists (for the churn's final state).</summary>
    public bool HasRoute(System.Net.IPAddress address, int link) => probe.HasRoute(address, link, RouteProtocol);

    private string Restore => $"iptables-{backend}-restore";

    private static RouteSpec FloorRoute(int link) =>
        new(new System.Net.IPNetwork(System.Net.IPAddress.Parse("10.250.0.1"), 32), link, null, false, RouteScope.Link, RouteProtocol + 1);

    /// <summary>
    /// One restore declaring and filling a chain with <paramref name="rules"/> (and a route added through
    /// <paramref name="linkIndex"/>), timed; then both deleted, timed too.
    /// </summary>
    private async Task<(double Added, double Removed)> FloorChainAndRouteAsync(string rules, int? linkIndex)
    {
        var body = string.Join('\n', rules.Split('\n').Select(r => $"-A {FloorChain} {r.Split(' ', 3)[2]}"));
        var started = Stopwatch.GetTimestamp();
        await netns.RunCheckedAsync(Restore, ["--noflush"], $"*filter\n:{FloorChain} - [0:0]\n{body}\nCOMMIT\n");
        if (linkIndex is { } link)
        {
            CheckNetlink(links.Execute([new AddRoute(FloorRoute(link))]));
        }
        var added = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        started = Stopwatch.GetTimestamp();
        await netns.RunCheckedAsync(Restore, ["--noflush"], $"*filter\n-F {FloorChain}\n-X {FloorChain}\nCOMMIT\n");
        if (linkIndex is { } index)
        {
            CheckNetlink(links.Execute([new DeleteRoute(FloorRoute(index))]));
        }
        return (added, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private static void CheckNetlink(IReadOnlyList<NetlinkError?> results)
    {
        if (results.FirstOrDefault(r => r is not null) is { } error)
        {
            throw new InvalidOperationException($"the floor's route: {error}");
        }
    }
}
