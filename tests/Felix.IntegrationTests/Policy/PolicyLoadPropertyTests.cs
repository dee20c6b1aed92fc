using System.Collections.Concurrent;
using System.Globalization;
using Felix.Agent.Calculation;
using Felix.Agent.Model;
using Felix.Agent.Policy;
using Felix.Dataplane;
using Felix.Dataplane.Iptables;
using Felix.IntegrationTests.Fixtures;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.Policy;

/// <summary>
/// Seeded random valid models (<see cref="RandomPolicyModel"/>) rendered for IPv4 and IPv6 and
/// loaded on both backends, each case in a namespace of its own: first with <c>--test</c>, then
/// for real, because only the kernel checks some things (nft's <c>--test</c> does not even check
/// jump targets), and then read back to see that every chain arrived with all its rules. Case i
/// uses seed <see cref="BaseSeed"/> + i, so a failure names the seed that reproduces it, and the
/// message carries the model's JSON and the script.
/// </summary>
public sealed class PolicyLoadPropertyTests(ITestOutputHelper output)
{
    public const int BaseSeed = 7_340_000;

    private const int Cases = 200;

    // The work is mostly waiting for short-lived tools and the kernel, so a few cases at a time
    // keep two cores busy; more only queue up behind them.
    private const int Workers = 4;

    [Fact]
    public async Task Random_valid_models_render_rules_that_both_backends_load()
    {
        var stats = new GeneratorStats();
        var failures = new ConcurrentDictionary<int, string>();
        await using (var net = new NetworkNamespaces())
        {
            await Parallel.ForEachAsync(
                Enumerable.Range(0, Cases),
                new ParallelOptions { MaxDegreeOfParallelism = Workers },
                async (index, _) =>
                {
                    if (await RunCaseAsync(net, index, stats) is { } failure)
                    {
                        failures[BaseSeed + index] = failure;
                    }
                });
        }

        output.WriteLine(Summary(stats));
        if (!failures.IsEmpty)
        {
            // Every failure's head (command, stderr, blamed lines), then the first one whole.
            var seeds = failures.Keys.Order().ToList();
            var heads = seeds.Select(seed => failures[seed].Split("\nscript:\n")[0].Split("\nmodel")[0]);
            Assert.Fail($"{seeds.Count} of {Cases} cases failed, seeds {string.Join(", ", seeds)}:\n{string.Join('\n', heads)}\n\n"
                + $"The first one in full:\n{failures[seeds[0]]}");
        }
        var required = RandomRules.RequiredFeatures.Concat(RandomPolicyModel.RequiredModelFeatures).Append("render:dispatch-tree");
        var missing = required.Where(feature => !stats.Features.ContainsKey(feature)).ToList();
        Assert.True(missing.Count == 0, $"no valid case had: {string.Join(", ", missing)}");
        Assert.True(stats.ValidRules < stats.RuleCandidates, "the parser refused no candidate: the generator never tried an invalid rule");
    }

    /// <summary>
    /// The smallest models behind failures the random cases found, kept as fixed cases: a profile
    /// <c>p</c> with the rules given, on one active endpoint with an address of each family.
    /// </summary>
    [Theory]
    [InlineData("""{"inbound_rules":[{"!src_net":"0.0.0.0/0"}]}""", IpVersion.V4)]
    [InlineData("""{"outbound_rules":[{"action":"deny","protocol":"tcp","!dst_net":"::/0"}]}""", IpVersion.V6)]
    public async Task Minimal_models_found_by_the_random_cases_load_on_both_backends(string rules, IpVersion version)
    {
        var options = PolicyScripts.CaliOptions;
        var endpointKey = new WorkloadEndpointKey("node1", "k8s", "wl1", "eth0");
        const string endpoint = """{"state":"active","name":"cali1","profile_ids":["p"],"ipv4_nets":["10.0.0.1/32"],"ipv6_nets":["fd00::1/128"]}""";
        DataplaneUpdate[] updates =
        [
            new ProfileUpdate("p", PolicyScripts.Parse<ProfileRules>(new ProfileRulesKey("p"), rules, options)),
            PolicyScripts.ToUpdate(endpointKey, PolicyScripts.Parse<WorkloadEndpoint>(endpointKey, endpoint, options)),
        ];
        var script = PolicyScripts.Render(PolicyScripts.Rendered(version, new PolicyConfig("cali", 0x1000000), updates));
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("minimal");

        foreach (var backend in RestoreLoader.Backends)
        {
            var context = $"profile p {rules}, IPv{(int)version}, {RestoreLoader.BackendName(backend)}";
            await RestoreLoader.AssertLoadsAsync(netns, script, backend, version, LoadMode.Test, context);
            await RestoreLoader.AssertLoadsAsync(netns, script, backend, version, LoadMode.Commit, context);
        }
    }

    /// <summary>Null when every load of the case succeeded, otherwise what failed and how to reproduce it.</summary>
    private static async Task<string?> RunCaseAsync(NetworkNamespaces net, int index, GeneratorStats stats)
    {
        var seed = BaseSeed + index;
        var model = RandomPolicyModel.Generate(seed, stats);
        var reproduce = $"seed {seed} (RandomPolicyModel.Generate({seed}, …), case {index} of base {BaseSeed})";
        var rendered = new List<(IpVersion Version, PolicyRenderer Renderer, string Script)>();
        foreach (var version in RestoreLoader.Families)
        {
            try
            {
                var renderer = new PolicyRenderer(version, model.Config);
                foreach (var batch in model.Batches)
                {
                    foreach (var update in batch)
                    {
                        renderer.OnUpdate(update);
                    }
                    renderer.Render();
                }
                rendered.Add((version, renderer, PolicyScripts.Render(renderer)));
            }
            catch (ArgumentException e)
            {
                // The iptables model refuses, by throwing, a name or value the renderer should never produce.
                return $"{reproduce}: rendering IPv{(int)version} threw {e}\nmodel:\n{model.Inputs}";
            }
        }
        if (rendered.Any(r => r.Renderer.Chains(TableName.Filter).Any(c => c.Name.StartsWith("felix-TO-EP-", StringComparison.Ordinal))))
        {
            stats.Saw("render:dispatch-tree");
        }

        var netns = await net.CreateNamespaceAsync(string.Create(CultureInfo.InvariantCulture, $"p{index}"));
        try
        {
            await RestoreLoader.CreateSetsAsync(netns, rendered.SelectMany(r => RestoreLoader.ReferencedSets(r.Script)));
            foreach (var (version, renderer, script) in rendered)
            {
                foreach (var backend in RestoreLoader.Backends)
                {
                    if (await LoadAsync(netns, renderer, script, backend, version, $"{reproduce}, IPv{(int)version}") is { } failure)
                    {
                        return $"{failure}\nmodel (the etcd JSON each value was parsed from):\n{model.Inputs}";
                    }
                }
            }
            return null;
        }
        finally
        {
            await net.DeleteNamespaceAsync(netns);
        }
    }

    private static async Task<string?> LoadAsync(NetNs netns, PolicyRenderer renderer, string script, IptablesBackend backend,
        IpVersion version, string context)
    {
        foreach (var mode in new[] { LoadMode.Test, LoadMode.Commit })
        {
            var result = await RestoreLoader.LoadAsync(netns, script, backend, version, mode);
            if (!result.Succeeded)
            {
                return RestoreLoader.DescribeFailure(result, script, $"{context}, {RestoreLoader.BackendName(backend)}, {mode}");
            }
        }
        var saved = await RestoreLoader.SavedChainsAsync(netns, backend, version, "filter");
        foreach (var chain in renderer.Chains(TableName.Filter))
        {
            var count = saved.TryGetValue(chain.Name, out var rules) ? rules.Count : -1;
            if (count != chain.Rules.Length)
            {
                return $"{context}, {RestoreLoader.BackendName(backend)}: after the commit, {chain.Name} has "
                    + $"{(count < 0 ? "no chain" : $"{count} rules")} in the saved filter table, {chain.Rules.Length} were rendered\n"
                    + $"script:\n{script}";
            }
        }
        return null;
    }

    private static string Summary(GeneratorStats stats)
    {
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture,
                $"{Cases} cases from seed {BaseSeed}; rule candidates {stats.RuleCandidates}, valid {stats.ValidRules} ({100.0 * stats.ValidRules / Math.Max(1, stats.RuleCandidates):F1}%)"),
        };
        lines.AddRange(stats.Features.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"  {f.Key}: {f.Value}"));
        return string.Join('\n', lines);
    }
}
