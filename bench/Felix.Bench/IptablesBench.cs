using System.Diagnostics;
using System.Text;
using Felix.Agent.Calculation;
using Felix.Agent.Policy;
using Felix.Dataplane;
using Felix.Dataplane.Iptables;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Felix.Bench;

/// <summary>
/// The iptables figures, per backend, IPv4, in namespaces the bench creates and deletes. Cold: the
/// rendered filter and nat tables of L endpoints programmed through <see cref="IptablesTable"/>
/// into an empty namespace (read-back, batch, restore, for each table) against the floor of one raw
/// <c>restore --noflush</c> of the whole-table scripts, every run in a fresh namespace with the sets
/// already created. A second floor restores the agent's own batches raw: the difference to the
/// first is what the <c>felix:</c> hash comments cost the kernel, the difference to the agent is
/// the agent's own overhead. Change: one endpoint's profiles changed, re-rendered and applied,
/// against the floor of one restore that declares and fills a chain as long as that endpoint's
/// chain, both in the programmed namespace, since on nft a restore's cost grows with what is
/// already loaded. Timed read-backs are off so every change is the hot path; what a read-back
/// costs at this size is printed on its own.
/// </summary>
internal static class IptablesBench
{
    private const double ColdTargetRatio = 1.2;
    private const double ChangeTargetMillis = 10;

    private static readonly PolicyConfig Config = new(interfacePrefix: "cali", markMask: 0xff000000);

    private static readonly IptablesTableOptions HotPathOnly = new() { RefreshInterval = TimeSpan.Zero, PostWriteReadBack = TimeSpan.Zero };

    public static async Task<int> RunAsync(int endpoints, int profiles, int coldRuns, int changes)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Console.Error.WriteLine("iptables: needs root (it creates network namespaces)");
            return 1;
        }
        var updates = RenderModel.Updates(endpoints, profiles);
        var chains = Rendered(updates).Chains(TableName.Filter);
        Console.WriteLine($"iptables: {endpoints} local endpoints, {profiles} profiles, IPv4: {chains.Count} filter chains, " +
            $"{chains.Sum(c => c.Rules.Length)} rules ({coldRuns} cold runs, {changes} changes; medians)");
        using var logs = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
        var status = 0;
        foreach (var backend in new[] { IptablesBackendKind.Nft, IptablesBackendKind.Legacy })
        {
            // A renderer per backend: the change samples mutate it, and each backend starts from the same model.
            var backendRun = new BackendRun(new IptablesCommands(IpVersion.V4, backend, 10), Rendered(updates), profiles,
                logs.CreateLogger<IptablesTable>());
            status |= await backendRun.RunAsync(coldRuns, changes);
        }
        return status;
    }

    private static PolicyRenderer Rendered(List<DataplaneUpdate> updates)
    {
        var renderer = new PolicyRenderer(IpVersion.V4, Config);
        updates.ForEach(renderer.OnUpdate);
        renderer.Render();
        return renderer;
    }

    private sealed class BackendRun(IptablesCommands commands, PolicyRenderer renderer, int profiles, ILogger logger)
    {
        private readonly string _name = commands.BackendName;

        public async Task<int> RunAsync(int coldRuns, int changes)
        {
            var script = RestoreScript.Render(TableName.Filter, renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter))
                + RestoreScript.Render(TableName.Nat, renderer.Chains(TableName.Nat), PolicyRenderer.Hooks(TableName.Nat));
            var (floor, hashedFloor, agent, restores, saves) = (new List<double>(), new List<double>(), new List<double>(), new List<double>(), new List<double>());
            BenchNamespace? programmed = null;
            try
            {
                for (var run = 0; run < coldRuns; run++)
                {
                    if (programmed is not null)
                    {
                        await programmed.DisposeAsync();
                    }
                    programmed = await PreparedAsync();
                    var filter = NewTable(TableName.Filter, programmed);
                    var nat = NewTable(TableName.Nat, programmed);
                    programmed.RestoreLog = [];
                    var started = Stopwatch.GetTimestamp();
                    var applied = await ColdApplyAsync(filter, TableName.Filter);
                    applied &= await ColdApplyAsync(nat, TableName.Nat);
                    agent.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    (restores, saves) = ([.. restores, programmed.RestoreMillis], [.. saves, programmed.SaveMillis]);
                    if (!applied)
                    {
                        Console.Error.WriteLine($"iptables ({_name}): the cold apply failed");
                        return 1;
                    }
                    floor.Add(await RawRestoreAsync(script));
                    // Every restore of both applies: a large nft batch is written as two (IptablesTable's listing).
                    hashedFloor.Add(await RawRestoreAsync(string.Concat(programmed.RestoreLog)));
                    programmed.RestoreLog = null;
                }
                Console.WriteLine($"  {_name}: cold floor: raw restore of the whole-table scripts                 {Median(floor),8:0} ms");
                Console.WriteLine($"  {_name}: cold floor: raw restore of the agent's batches (hash comments)    {Median(hashedFloor),8:0} ms");
                Console.WriteLine($"  {_name}: cold agent: IptablesTable.ApplyAsync, filter + nat               {Median(agent),8:0} ms  " +
                    $"({Median(agent) / Median(floor):0.00}x floor, target ≤ {ColdTargetRatio}x; restores {Median(restores):0} ms, read-backs {Median(saves):0} ms)");
                return await ChangesAsync(programmed!, changes);
            }
            finally
            {
                if (programmed is not null)
                {
                    await programmed.DisposeAsync();
                }
            }
        }

        /// <summary>
        /// Alternates floor and agent samples in the programmed namespace, each on another endpoint:
        /// a fresh chain with that endpoint's from-chain rules declared and filled, then the endpoint
        /// moved to two other profiles. The first pair warms up and is not counted.
        /// </summary>
        private async Task<int> ChangesAsync(BenchNamespace netns, int changes)
        {
            // A table over the programmed namespace that adopts it (zero lines), as after a restart.
            var filter = NewTable(TableName.Filter, netns);
            if (!await ColdApplyAsync(filter, TableName.Filter))
            {
                Console.Error.WriteLine($"iptables ({_name}): adopting the programmed namespace failed");
                return 1;
            }
            var (floor, agent, restore, floorRules, lines) = (new List<double>(), new List<double>(), new List<double>(), new List<double>(), new List<double>());
            var endpoints = renderer.Chains(TableName.Filter).Count(c => c.Name.StartsWith("felix-to-", StringComparison.Ordinal));
            for (var i = 0; i <= changes; i++)
            {
                var number = i * 37 % endpoints;
                var endpoint = RenderModel.Endpoint($"w{number}", number, profiles);
                var suffix = PolicyNames.EndpointSuffix(endpoint.InterfaceName, Config.InterfacePrefix);
                var fromChain = renderer.Chains(TableName.Filter).Single(c => c.Name == PolicyNames.EndpointChain(suffix, PolicyDirection.Outbound));
                var floorMillis = await FloorChainAsync(netns, $"bench-floor-{i}", fromChain);

                var restoring = netns.RestoreMillis;
                var started = Stopwatch.GetTimestamp();
                renderer.OnUpdate(endpoint with { ProfileIds = [$"p{(number + 1) % profiles}", $"p{(number + 7) % profiles}"] });
                var changed = renderer.Render().Filter;
                foreach (var chain in changed.Updated)
                {
                    filter.SetChain(chain);
                }
                foreach (var name in changed.Removed)
                {
                    filter.RemoveChain(name);
                }
                var applied = await filter.ApplyAsync(CancellationToken.None);
                var agentMillis = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (!applied || changed.Updated.Count == 0)
                {
                    Console.Error.WriteLine($"iptables ({_name}): endpoint w{number}'s change {(applied ? "changed no chain" : "failed to apply")}");
                    return 1;
                }
                if (i > 0)
                {
                    (floor, agent, restore) = ([.. floor, floorMillis], [.. agent, agentMillis], [.. restore, netns.RestoreMillis - restoring]);
                    floorRules.Add(fromChain.Rules.Length);
                    lines.Add(netns.LastRestoreInput!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length - 2);
                }
            }
            var (floorP50, agentP50) = (Median(floor), Median(agent));
            Console.WriteLine($"  {_name}: change floor: restore declaring and filling one {Median(floorRules):0}-rule chain   p50 {floorP50,8:0.0} ms");
            Console.WriteLine($"  {_name}: change agent: re-render + ApplyAsync, one endpoint's profiles  p50 {agentP50,8:0.0} ms  max {agent.Max(),6:0.0} ms  " +
                $"({agentP50 - floorP50:+0.0;-0.0} ms over floor, target ≤ +{ChangeTargetMillis} ms; restore {Median(restore):0.0} ms, {Median(lines):0} lines)");
            await ReadBackAsync(netns, filter);
            return 0;
        }

        /// <summary>What a periodic refresh costs at this size: the raw save, and the table's read-back (save and parse).</summary>
        private async Task ReadBackAsync(BenchNamespace netns, IptablesTable filter)
        {
            var started = Stopwatch.GetTimestamp();
            await netns.RunCheckedAsync(commands.Save, ["-t", "filter"]);
            var raw = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            started = Stopwatch.GetTimestamp();
            var read = await filter.TryReadBackAsync(CancellationToken.None);
            var readBack = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            Console.WriteLine($"  {_name}: read-back floor: raw {commands.Save} -t filter {raw,8:0} ms; " +
                $"TryReadBackAsync (save + parse) {readBack,8:0} ms{(read ? "" : " (failed)")}");
        }

        private async Task<double> FloorChainAsync(BenchNamespace netns, string name, Chain like)
        {
            var text = new StringBuilder($"*filter\n:{name} - [0:0]\n");
            foreach (var rule in like.Rules)
            {
                rule.AppendHashedBody(text.Append($"-A {name} ")).Append('\n');
            }
            var started = Stopwatch.GetTimestamp();
            await netns.RunCheckedAsync(commands.Restore, ["--noflush"], text.Append("COMMIT\n").ToString());
            return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        private async Task<double> RawRestoreAsync(string input)
        {
            await using var empty = await PreparedAsync();
            var started = Stopwatch.GetTimestamp();
            await empty.RunCheckedAsync(commands.Restore, ["--noflush"], input);
            return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        private async Task<BenchNamespace> PreparedAsync()
        {
            var netns = await BenchNamespace.CreateAsync();
            try
            {
                await netns.CreateSetsAsync(renderer.Chains(TableName.Filter).Concat(renderer.Chains(TableName.Nat)), IpVersion.V4);
                return netns;
            }
            catch
            {
                await netns.DisposeAsync();
                throw;
            }
        }

        private IptablesTable NewTable(TableName table, BenchNamespace netns) =>
            new(table, commands, netns, new IptablesMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry())), logger, HotPathOnly,
                TimeProvider.System);

        private Task<bool> ColdApplyAsync(IptablesTable table, TableName name)
        {
            foreach (var chain in renderer.Chains(name))
            {
                table.SetChain(chain);
            }
            table.SetHooks(PolicyRenderer.Hooks(name));
            return table.ApplyAsync(CancellationToken.None);
        }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
