using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Felix.Dataplane;
using Felix.Dataplane.Ipsets;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Felix.Bench;

/// <summary>
/// The ipset figures, IPv4, one <c>hash:ip</c> set of N members, in a namespace the bench creates
/// and deletes (every set is destroyed between runs, untimed). Cold: a fresh <see cref="IpSets"/>
/// creating and filling the set (its first apply reads back, builds the set as
/// <c>felix-tmp-…</c> and renames it in) against the floor of one raw <c>ipset restore</c> of the
/// same members into a set created with ipset's default hash size, the two alternating which goes
/// first. A second floor restores the agent's own batch raw: the difference to the agent is the
/// agent's own overhead. Change: one member removed and another added to the programmed set, against
/// the floor of one raw restore of the same two lines into a raw set as large, alternating, the
/// first pair a warm-up; starting <c>true</c> the same way is printed beside it, since the 5 ms
/// target is mostly process start. Every restore and save, the floors' included, runs through the
/// agent's process runner, started directly: the bench runs this scenario from inside its namespace
/// (<see cref="BenchNamespace.RunInsideAsync"/>), as the agent runs on a host. Timed read-backs are off, so every change is
/// the hot path; what a read-back costs at this size is printed on its own, as is the memory
/// <see cref="IpSets"/> retains per member.
/// </summary>
internal static class IpsetsBench
{
    private const double ColdTargetRatio = 1.2;
    private const double ChangeTargetMillis = 5;
    private const string AgentSet = "felix-v4-bench";
    private const string FloorSet = "felix-v4-floor";
    private const int MaxSize = 1_048_576;

    private static readonly IpSetSpec Spec = new(AgentSet, IpSetType.HashIp, IpVersion.V4, MaxSize);

    private static readonly IpSetsOptions HotPathOnly = new() { RefreshInterval = TimeSpan.Zero };

    public static async Task<int> RunAsync(int members, int coldRuns, int changes)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Console.Error.WriteLine("ipsets: needs root (it creates network namespaces)");
            return 1;
        }
        Console.WriteLine($"ipsets: one hash:ip IPv4 set of {members} members ({coldRuns} cold runs, {changes} changes; medians)");
        await using var netns = await BenchNamespace.CreateAsync();
        try
        {
            var addresses = Members(members);
            await ColdAsync(netns, addresses, coldRuns);
            return await ChangesAsync(netns, addresses, changes);
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"ipsets: {e.Message}");
            return 1;
        }
    }

    private static async Task ColdAsync(BenchNamespace netns, List<IPNetwork> members, int runs)
    {
        var script = FloorScript(members);
        // The agent ships as Native AOT: a small set first, so no figure pays for compiling its code.
        await AgentColdAsync(netns, Members(1_000));
        await DestroyAllAsync(netns);

        var (floor, batchFloor, agent, restores, saves, inAgent) = (new List<double>(), new List<double>(), new List<double>(), new List<double>(), new List<double>(), new List<double>());
        var (allocated, pauses) = (new List<double>(), new List<double>());
        var hashSize = string.Empty;
        for (var run = 0; run < runs; run++)
        {
            if (run % 2 == 0)
            {
                floor.Add(await FloorColdAsync(netns, script, members.Count));
            }
            // Fresh address objects each run, as the agent gets them: none has its text or hash cached yet.
            var cold = await AgentColdAsync(netns, Members(members.Count));
            await CheckEntriesAsync(netns, AgentSet, members.Count);
            (agent, restores, saves, allocated, pauses) =
                ([.. agent, cold.Millis], [.. restores, cold.RestoreMillis], [.. saves, cold.SaveMillis], [.. allocated, cold.AllocatedMiB], [.. pauses, cold.PauseMillis]);
            inAgent.Add(cold.Millis - cold.RestoreMillis - cold.SaveMillis);
            hashSize = cold.Batch.Split('\n', 2)[0].Split(' ') is [.., "hashsize", var size, "maxelem", _] ? size : "?";
            await DestroyAllAsync(netns);
            batchFloor.Add(await FloorColdAsync(netns, cold.Batch, members.Count, AgentSet));
            if (run % 2 == 1)
            {
                floor.Add(await FloorColdAsync(netns, script, members.Count));
            }
        }
        var (floorMillis, agentMillis) = (Median(floor), Median(agent));
        var ratio = agentMillis / floorMillis;
        Console.WriteLine($"  cold floor: raw ipset restore, create (hashsize 1024) + {members.Count} adds          {floorMillis,8:0} ms");
        Console.WriteLine($"  cold floor: raw restore of the agent's batch (hashsize {hashSize}, tmp + rename)  {Median(batchFloor),8:0} ms");
        Console.WriteLine($"  cold agent: fresh IpSets, AddOrReplaceSet + ApplyUpdatesAsync              {agentMillis,8:0} ms  " +
            $"({ratio:0.00}x floor, target ≤ {ColdTargetRatio}x: {Verdict(ratio <= ColdTargetRatio)}; {agentMillis / Median(batchFloor):0.00}x its own batch raw; " +
            $"restore {Median(restores):0} ms, read-back save {Median(saves):0} ms, outside them {Median(inAgent):0} ms; " +
            $"{Median(allocated):0} MiB allocated, GC pauses {Median(pauses):0} ms)");
    }

    /// <summary>
    /// Alternates floor and agent samples at full size: the member at a stride through the set
    /// removed and a new one added, in the agent's set through <see cref="IpSets"/>, in the raw set
    /// by restoring the same two lines. The first pair warms up and is not counted.
    /// </summary>
    private static async Task<int> ChangesAsync(BenchNamespace netns, List<IPNetwork> members, int changes)
    {
        await DestroyAllAsync(netns);
        var (before, heldInput) = (GC.GetTotalMemory(forceFullCollection: true), netns.LastRestoreInput?.Length ?? 0);
        var ipsets = await FilledAsync(netns, members.Count);
        // The namespace keeps the last restore's input for the figures, not the agent: its change in size is not the agent's.
        var retained = GC.GetTotalMemory(forceFullCollection: true) - before - (2L * ((netns.LastRestoreInput?.Length ?? 0) - heldInput));
        var bare = BareSetBytes(members.Count);
        await netns.RunCheckedAsync("ipset", ["restore"], FloorScript(members));
        await CheckEntriesAsync(netns, FloorSet, members.Count);

        var (spawn, floor, agent, restore, lines) = (new List<double>(), new List<double>(), new List<double>(), new List<double>(), new List<double>());
        for (var i = 0; i <= changes; i++)
        {
            var spawnMillis = await SpawnAsync(netns);
            // 7919 is prime, so the stride visits a different member on every sample.
            var gone = members[(int)(i * 7919L % members.Count)];
            var added = Host(0x0b000000u + (uint)i);
            var floorMillis = 0.0;
            if (i % 2 == 0)
            {
                floorMillis = await FloorChangeAsync(netns, gone, added);
            }
            var restoring = netns.RestoreMillis;
            var started = Stopwatch.GetTimestamp();
            ipsets.RemoveMembers(AgentSet, [gone]);
            ipsets.AddMembers(AgentSet, [added]);
            var applied = await ipsets.ApplyUpdatesAsync(CancellationToken.None) && await ipsets.ApplyDeletionsAsync(CancellationToken.None);
            var agentMillis = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (!applied)
            {
                throw new InvalidOperationException($"the change of {gone} to {added} failed to apply");
            }
            var (restoreMillis, batchLines) = (netns.RestoreMillis - restoring, netns.LastRestoreInput!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
            if (i % 2 == 1)
            {
                floorMillis = await FloorChangeAsync(netns, gone, added);
            }
            if (i > 0)
            {
                (spawn, floor, agent, restore, lines) = ([.. spawn, spawnMillis], [.. floor, floorMillis], [.. agent, agentMillis], [.. restore, restoreMillis], [.. lines, batchLines]);
            }
        }
        await CheckEntriesAsync(netns, AgentSet, members.Count);
        await CheckEntriesAsync(netns, FloorSet, members.Count);

        var (floorP50, agentP50) = (Median(floor), Median(agent));
        Console.WriteLine($"  change floor: process start alone, true                     p50 {Median(spawn),6:0.0} ms  p90 {Percentile(spawn, 0.9),6:0.0} ms  max {spawn.Max(),6:0.0} ms");
        Console.WriteLine($"  change floor: raw ipset restore, del + add of one member     p50 {floorP50,6:0.0} ms  p90 {Percentile(floor, 0.9),6:0.0} ms  max {floor.Max(),6:0.0} ms");
        Console.WriteLine($"  change agent: RemoveMembers + AddMembers + apply             p50 {agentP50,6:0.0} ms  p90 {Percentile(agent, 0.9),6:0.0} ms  max {agent.Max(),6:0.0} ms  " +
            $"({agentP50 - floorP50:+0.0;-0.0;+0.0} ms over floor, {agentP50 / floorP50:0.00}x; target p50 ≤ {ChangeTargetMillis} ms: {Verdict(agentP50 <= ChangeTargetMillis)}; " +
            $"restore {Median(restore):0.0} ms, {Median(lines):0} lines)");

        // The raw set would be read back too (it is named felix-…): the read-back figures are of the agent's set alone.
        await netns.RunCheckedAsync("ipset", ["destroy", FloorSet]);
        await ReadBackAsync(netns, ipsets);
        Console.WriteLine($"  memory retained by IpSets               {retained / (double)members.Count,9:0} B per member  " +
            $"(one HashSet<IPNetwork> of the same members: {bare / (double)members.Count:0} B per member)");
        GC.KeepAlive(ipsets);
        return 0;
    }

    /// <summary>
    /// What a periodic refresh costs at this size: the raw save, and the read-back (save, parse,
    /// reconcile), alternating, medians of five.
    /// </summary>
    private static async Task ReadBackAsync(BenchNamespace netns, IpSets ipsets)
    {
        var (raw, readBack, pauses) = (new List<double>(), new List<double>(), new List<double>());
        for (var i = 0; i < 5; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await netns.RunCheckedAsync("ipset", ["save"]);
            raw.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            var paused = GC.GetTotalPauseDuration();
            started = Stopwatch.GetTimestamp();
            if (!await ipsets.TryReadBackAsync(CancellationToken.None))
            {
                throw new InvalidOperationException("the read-back failed");
            }
            readBack.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            pauses.Add((GC.GetTotalPauseDuration() - paused).TotalMilliseconds);
        }
        Console.WriteLine($"  read-back floor: raw ipset save {Median(raw),8:0} ms; TryReadBackAsync (save, parse, reconcile) {Median(readBack),8:0} ms " +
            $"({Median(readBack) - Median(raw):+0;-0;+0} ms; GC pauses {Median(pauses):0} ms)");
    }

    private static async Task<ColdRun> AgentColdAsync(BenchNamespace netns, List<IPNetwork> members)
    {
        var (restoring, saving) = (netns.RestoreMillis, netns.SaveMillis);
        Settle();
        var (allocating, paused) = (GC.GetTotalAllocatedBytes(precise: true), GC.GetTotalPauseDuration());
        var started = Stopwatch.GetTimestamp();
        var ipsets = NewIpSets(netns);
        ipsets.AddOrReplaceSet(Spec, members);
        var applied = await ipsets.ApplyUpdatesAsync(CancellationToken.None);
        var millis = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var allocated = (GC.GetTotalAllocatedBytes(precise: true) - allocating) / 1024.0 / 1024.0;
        var pauses = (GC.GetTotalPauseDuration() - paused).TotalMilliseconds;
        return applied
            ? new ColdRun(millis, netns.RestoreMillis - restoring, netns.SaveMillis - saving, allocated, pauses, netns.LastRestoreInput!)
            : throw new InvalidOperationException($"the cold apply of {members.Count} members failed");
    }

    /// <summary>A fresh IpSets with the set programmed, its members its own: what it retains is all it holds.</summary>
    private static async Task<IpSets> FilledAsync(BenchNamespace netns, int members)
    {
        var ipsets = NewIpSets(netns);
        ipsets.AddOrReplaceSet(Spec, Members(members));
        if (!await ipsets.ApplyUpdatesAsync(CancellationToken.None))
        {
            throw new InvalidOperationException($"the cold apply of {members} members failed");
        }
        await CheckEntriesAsync(netns, AgentSet, members);
        return ipsets;
    }

    /// <summary>The least any holder of the desired members retains: one hash set of them.</summary>
    private static long BareSetBytes(int members)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var set = new HashSet<IPNetwork>(Members(members));
        var bytes = GC.GetTotalMemory(forceFullCollection: true) - before;
        GC.KeepAlive(set);
        return bytes;
    }

    private static async Task<double> FloorColdAsync(BenchNamespace netns, string script, int members, string set = FloorSet)
    {
        Settle();
        var started = Stopwatch.GetTimestamp();
        await netns.RunCheckedAsync("ipset", ["restore"], script);
        var millis = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await CheckEntriesAsync(netns, set, members);
        await DestroyAllAsync(netns);
        return millis;
    }

    private static async Task<double> FloorChangeAsync(BenchNamespace netns, IPNetwork gone, IPNetwork added)
    {
        var script = $"del {FloorSet} {gone.BaseAddress} -exist\nadd {FloorSet} {added.BaseAddress}\n";
        var started = Stopwatch.GetTimestamp();
        await netns.RunCheckedAsync("ipset", ["restore"], script);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    /// <summary>What starting any program in the namespace costs, the part of every restore the bench's plumbing adds to the agent's.</summary>
    private static async Task<double> SpawnAsync(BenchNamespace netns)
    {
        var started = Stopwatch.GetTimestamp();
        await netns.RunCheckedAsync("true", []);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    private static string FloorScript(List<IPNetwork> members)
    {
        var text = new StringBuilder($"create {FloorSet} hash:ip family inet hashsize 1024 maxelem {MaxSize}\n", members.Count * 32);
        foreach (var member in members)
        {
            text.Append("add ").Append(FloorSet).Append(' ').Append(member.BaseAddress).Append('\n');
        }
        return text.ToString();
    }

    private static async Task CheckEntriesAsync(BenchNamespace netns, string set, int expected)
    {
        var listed = await netns.RunCheckedAsync("ipset", ["list", set, "-terse"]);
        var entries = listed.StandardOutput.Split('\n').FirstOrDefault(l => l.StartsWith("Number of entries: ", StringComparison.Ordinal));
        if (entries is null || int.Parse(entries["Number of entries: ".Length..], CultureInfo.InvariantCulture) != expected)
        {
            throw new InvalidOperationException($"{set} holds {entries ?? "no entries line"}, expected {expected}");
        }
    }

    private static async Task DestroyAllAsync(BenchNamespace netns) => await netns.RunCheckedAsync("ipset", ["destroy"]);

    private static IpSets NewIpSets(BenchNamespace netns) =>
        new(netns, new IpsetMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry())), NullLogger.Instance, HotPathOnly, TimeProvider.System);

    /// <summary>10.0.0.1, 10.0.0.2, …: fresh address objects on every call.</summary>
    private static List<IPNetwork> Members(int count) =>
        [.. Enumerable.Range(1, count).Select(i => Host(0x0a000000u + (uint)i))];

    private static IPNetwork Host(uint address)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, address);
        return IpSetSpec.Host(new IPAddress(bytes));
    }

    /// <summary>Collects the garbage of what ran before, so that no figure pays for another's.</summary>
    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    private static string Verdict(bool met) => met ? "OK" : "MISS";

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static double Percentile(List<double> values, double fraction) =>
        values.Order().ElementAt(Math.Max(0, (int)Math.Ceiling(fraction * values.Count) - 1));

    private sealed record ColdRun(double Millis, double RestoreMillis, double SaveMillis, double AllocatedMiB, double PauseMillis, string Batch);
}
