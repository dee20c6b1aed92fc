using System.Diagnostics;
using Felix.Agent.Datastore.Etcd;

namespace Felix.Bench;

/// <summary>
/// The end-to-end samples at one size, against a running agent, each timed from the start of its
/// etcd put (the put's own round trip, about a millisecond, is included) until the bench's
/// <see cref="KernelProbe"/> sees the result, polled every millisecond or so, at most
/// <see cref="Timeout"/>. Every sample is undone afterwards (untimed) and the bench waits until the
/// agent has logged the apply that undid it (a removed endpoint's apply goes on after its chain and
/// route are gone, flushing conntrack) and then <see cref="Settle"/> more, so each starts from the
/// same table, with the agent idle and its apply throttle open: the figure is one isolated change,
/// not a queue of them.
/// What the probe saw is checked after every sample, untimed, against the tools (<c>iptables-nft -S</c>,
/// <c>ip route show</c>, <c>ipset test</c>). The floors alternate with the samples, in the same
/// table, the first pair a warm-up that is not counted.
/// </summary>
internal sealed class E2eSamples(GrpcEtcdStore store, KernelProbe probe, BenchNamespace netns, E2eAgent agent)
{
    public const byte RouteProtocol = 80;

    private const string FloorChain = "bench-floor";
    private const string FloorSet = "bench-floor";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Longer than the agent's minimum interval between applies (100 ms), so the next put is applied at once.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(150);

    /// <summary>
    /// One sample, in milliseconds from the put's start: until the result was seen (the later of
    /// its two conditions), until each condition was, and until the agent's first apply meanwhile
    /// began (from its "Dataplane applied in" line: when the bench read it, less the duration it
    /// logs), with those applies' total duration and count.
    /// </summary>
    public sealed record Sample(double Millis, double FirstMillis, double SecondMillis, double ApplyStartMillis, double ApplyMillis, int Applies);

    /// <summary>The new-endpoint figure's samples and floors, and the rule count of the chain they are about.</summary>
    public sealed record EndpointFigures(List<Sample> Agent, List<double> Floor, int Rules);

    /// <summary>
    /// New endpoints, one at a time, each with its veth already up: from the put until both its
    /// <c>felix-to-</c> chain and its route exist. Floor: <c>iptables-nft-restore --noflush</c>
    /// declaring and filling one chain with the same rules.
    /// </summary>
    public async Task<EndpointFigures> NewEndpointsAsync(IReadOnlyList<int> endpoints, IReadOnlyDictionary<string, int> linkIndexes)
    {
        var (agentSamples, floor) = (new List<Sample>(), new List<double>());
        string? rules = null;
        for (var i = 0; i < endpoints.Count; i++)
        {
            var e = endpoints[i];
            var (chain, address, link) = ($"felix-to-{E2eModel.ChainSuffix(e)}", E2eModel.Address(e), linkIndexes[E2eModel.InterfaceName(e)]);
            if (rules is not null)
            {
                floor.Add(await FloorChainAsync(rules));
            }
            var started = Stopwatch.GetTimestamp();
            await store.PutAsync(E2eModel.Key(e), E2eModel.Endpoint(e), 0, CancellationToken.None);
            var (routeAt, chainAt) = await PollAsync(
                $"the route and chain of new endpoint {e}", () => probe.HasRoute(address, link, RouteProtocol), () => probe.HasChain("filter", chain));
            var sample = await SampleAsync(started, routeAt, chainAt);
            var listed = await CheckedChainAsync(chain, address, E2eModel.InterfaceName(e));
            if (rules is null)
            {
                // The floor's warm-up, with the rules of the warm-up sample's chain.
                rules = listed;
                await FloorChainAsync(rules);
            }
            else
            {
                agentSamples.Add(sample);
            }

            var undone = Stopwatch.GetTimestamp();
            await store.DeleteAsync(E2eModel.Key(e), CancellationToken.None);
            await PollAsync($"the removal of endpoint {e}", () => !probe.HasRoute(address, link, RouteProtocol), () => !probe.HasChain("filter", chain));
            await SettleAsync(undone);
        }
        return new EndpointFigures(agentSamples, floor, rules!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    /// <summary>
    /// The canary profile's tags changed so that endpoint 0's address enters <see cref="E2eModel.TagSet"/>:
    /// from the put until the set holds it. Floor: <c>ipset add</c> of one member to a set as large.
    /// </summary>
    public async Task<(List<Sample> Agent, List<double> Floor)> TagChangesAsync(int samples, int setMembers)
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

            var undone = Stopwatch.GetTimestamp();
            await store.PutAsync(E2eModel.CanaryTagsKey, E2eModel.CanaryTags(inSet: false), 0, CancellationToken.None);
            await PollAsync($"{address} out of {E2eModel.TagSet}", () => !probe.HasMember(E2eModel.TagSet, address), static () => true);
            await SettleAsync(undone);
        }
        await netns.RunCheckedAsync("ipset", ["destroy", FloorSet]);
        return (agentSamples, floor);
    }

    /// <summary>Polls both conditions until each has held once; returns when each first did.</summary>
    private async Task<(long First, long Second)> PollAsync(string what, Func<bool> first, Func<bool> second)
    {
        var started = Stopwatch.GetTimestamp();
        long? firstAt = null, secondAt = null;
        while (true)
        {
            firstAt ??= first() ? Stopwatch.GetTimestamp() : null;
            secondAt ??= second() ? Stopwatch.GetTimestamp() : null;
            if (firstAt is { } a && secondAt is { } b)
            {
                return (a, b);
            }
            if (Stopwatch.GetElapsedTime(started) > Timeout)
            {
                agent.CheckRunning();
                throw new TimeoutException($"{what} did not happen within {Timeout.TotalSeconds:0} s " +
                    $"(first condition {(firstAt is null ? "not met" : "met")}, second {(secondAt is null ? "not met" : "met")}):\n{agent.Tail()}");
            }
            await Task.Delay(1);
        }
    }

    /// <summary>Waits for the agent to log the apply that undid a sample (bounded), then <see cref="Settle"/>.</summary>
    private async Task SettleAsync(long undone)
    {
        var started = Stopwatch.GetTimestamp();
        while (agent.AppliesSince(undone).Count == 0 && Stopwatch.GetElapsedTime(started) < Timeout)
        {
            await Task.Delay(5);
        }
        await Task.Delay(Settle);
    }

    /// <summary>The sample's figures; the applies' log lines may arrive just after the probe saw their result.</summary>
    private async Task<Sample> SampleAsync(long started, long firstAt, long secondAt)
    {
        var seenAt = Math.Max(firstAt, secondAt);
        var applies = agent.AppliesSince(started);
        for (var wait = 0; wait < 100 && applies.Count == 0; wait++)
        {
            await Task.Delay(5);
            applies = agent.AppliesSince(started);
        }
        var until = seenAt + Stopwatch.Frequency / 2;
        applies = [.. applies.Where(a => a.ReadAt <= until)];
        var applyStart = applies.Count == 0
            ? double.NaN
            : Stopwatch.GetElapsedTime(started, applies[0].ReadAt).TotalMilliseconds - applies[0].Millis;
        double Since(long at) => Stopwatch.GetElapsedTime(started, at).TotalMilliseconds;
        return new Sample(Since(seenAt), Since(firstAt), Since(secondAt), applyStart, applies.Sum(a => a.Millis), applies.Count);
    }

    /// <summary>Checks the probe against the tools: the chain as iptables-nft lists it (its rules returned), and the route.</summary>
    private async Task<string> CheckedChainAsync(string chain, System.Net.IPAddress address, string interfaceName)
    {
        var listed = await netns.RunCheckedAsync("iptables-nft", ["-t", "filter", "-S", chain]);
        var rules = string.Join('\n', listed.StandardOutput.Split('\n').Where(l => l.StartsWith($"-A {chain} ", StringComparison.Ordinal)));
        var routes = await netns.RunCheckedAsync("ip", ["-4", "route", "show", "dev", interfaceName, "proto", RouteProtocol.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        if (!routes.StandardOutput.Contains(address.ToString(), StringComparison.Ordinal) || rules.Length == 0)
        {
            throw new InvalidOperationException($"the probe saw {chain} and the route to {address}; the tools list: {listed.StandardOutput.Trim()} / {routes.StandardOutput.Trim()}");
        }
        return rules;
    }

    /// <summary>One restore declaring and filling a chain with the agent chain's rules, timed; the chain is then deleted, untimed.</summary>
    private async Task<double> FloorChainAsync(string rules)
    {
        var body = string.Join('\n', rules.Split('\n').Select(r => $"-A {FloorChain} {r.Split(' ', 3)[2]}"));
        var started = Stopwatch.GetTimestamp();
        await netns.RunCheckedAsync("iptables-nft-restore", ["--noflush"], $"*filter\n:{FloorChain} - [0:0]\n{body}\nCOMMIT\n");
        var millis = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await netns.RunCheckedAsync("iptables-nft-restore", ["--noflush"], $"*filter\n-F {FloorChain}\n-X {FloorChain}\nCOMMIT\n");
        return millis;
    }

    private async Task CreateFloorSetAsync(int members)
    {
        var script = new System.Text.StringBuilder($"create {FloorSet} hash:ip family inet maxelem 1048576\n");
        for (var m = 0; m < members; m++)
        {
            script.Append($"add {FloorSet} 10.{128 + (m >> 16)}.{(m >> 8) & 0xff}.{m & 0xff}\n");
        }
        await netns.RunCheckedAsync("ipset", ["restore"], script.ToString());
    }

    /// <summary>A raw <c>ipset add</c> of one member, timed; removed again, untimed.</summary>
    private async Task<double> FloorMemberAsync()
    {
        var started = Stopwatch.GetTimestamp();
        await netns.RunCheckedAsync("ipset", ["add", FloorSet, "10.250.0.1"]);
        var millis = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await netns.RunCheckedAsync("ipset", ["del", FloorSet, "10.250.0.1"]);
        return millis;
    }
}
