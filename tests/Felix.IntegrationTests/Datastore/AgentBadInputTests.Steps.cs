using System.Net;
using dotnet_etcd;
using Felix.IntegrationTests.EndToEnd;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;

namespace Felix.IntegrationTests.Datastore;

/// <summary>The steps and checks of <see cref="AgentBadInputTests"/>.</summary>
public sealed partial class AgentBadInputTests
{
    // The two cases whose values replace valid keys in step 3: an interface name that is a shell
    // command, and a protocol that is one.
    private const string EndpointOverwrite = "interface name with command substitution";
    private const string ProfileOverwrite = "protocol with a shell command";

    /// <summary>Below this length a value's text (<c>"db"</c>, <c>"4"</c>) says nothing about where it came from.</summary>
    private const int MinTokenLength = 4;

    private async Task AssertMatrixAsync(ExpectedConnectivity expected, IReadOnlyList<ClusterWorkload> workloads, string what, AgentProcess agent)
    {
        foreach (var family in LiveArticleCluster.Families)
        {
            var matrix = await ConnectivityMatrix.WaitUntilMatchesAsync(expected, workloads, family, maxAttempts: 10, settings: LiveArticleCluster.Probing);
            Assert.True(matrix.Matches(expected), $"{what}:\n{matrix.DescribeDifferences(expected)}\n{agent.Output()}");
        }

        Log($"{what}: {expected.Count} cells x {LiveArticleCluster.Families.Count} families as expected");
    }

    private static string Suffix(ClusterWorkload workload) => workload.HostInterface["cali".Length..];

    private static async Task<bool> IsProgrammedAsync(ClusterWorkload workload, bool present)
    {
        foreach (var family in LiveArticleCluster.Families)
        {
            var chains = await LiveArticleCluster.HasChainAsync(workload.Host, family, $"felix-to-{Suffix(workload)}")
                && await LiveArticleCluster.HasChainAsync(workload.Host, family, $"felix-from-{Suffix(workload)}");
            var route = (await LiveArticleCluster.RoutesToAsync(workload.Host, workload.AddressOf(family))).Contains(workload.HostInterface, StringComparison.Ordinal);
            if (chains != present || route != present)
            {
                return false;
            }
        }

        return true;
    }

    private static async Task AssertProgrammedAsync(IEnumerable<ClusterWorkload> workloads)
    {
        foreach (var workload in workloads)
        {
            Assert.True(await IsProgrammedAsync(workload, present: true), $"{workload.Name}: chains and routes of both families");
        }
    }

    private async Task WaitUntilAsync(Func<Task<bool>> condition, string what, AgentProcess agent)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < Bound, $"{what}: not within {Bound}\n{agent.Output()}");
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        Log($"{what}: after {clock.ElapsedMilliseconds} ms");
    }

    /// <summary>
    /// web1's endpoint and app's rules get invalid values: web1 loses its chains and route and
    /// nothing reaches it or leaves it; app1, whose profile is now as good as missing, is cut off
    /// both ways. The valid values back, all is as before.
    /// </summary>
    private async Task OverwriteWithInvalidAsync(EtcdClient etcd, ArticleModel model, ClusterWorkload web1, AgentProcess agent,
        IReadOnlyList<PlacedCase> all, ExpectedConnectivity expected)
    {
        var app1 = model.Workloads.Single(w => model.ProfileOf(w) == ArticleModel.App);
        var endpointCase = all.Single(c => c.Case.Name == EndpointOverwrite);
        var profileCase = all.Single(c => c.Case.Name == ProfileOverwrite);
        PlacedCase[] overwrites =
        [
            endpointCase with { Key = ArticleModel.EndpointKey(web1) },
            profileCase with { Key = ArticleModel.RulesKey(ArticleModel.App) },
        ];
        var before = await LiveArticleCluster.ReadMetricAsync(agent, InvalidKeys);
        await PutAllAsync(etcd, overwrites);
        await WaitForWarningsAsync(agent, overwrites, "the overwritten valid keys");
        AssertOneWarningEach(agent, overwrites);
        await AssertCountedAsync(agent, before, overwrites);
        await WaitUntilAsync(() => IsProgrammedAsync(web1, present: false), "web1's chains and routes removed once its endpoint went invalid", agent);

        var cutOff = new HashSet<string>([web1.Name, app1.Name], StringComparer.Ordinal);
        var withoutThem = expected.With(cell => cutOff.Contains(cell.From) || cutOff.Contains(cell.To) ? false : null);
        await AssertMatrixAsync(withoutThem, model.Workloads, "web1's endpoint and app's rules invalid", agent);

        var valid = model.Snapshot().Where(pair => overwrites.Any(o => o.Key == pair.Key)).ToList();
        Assert.Equal(2, valid.Count);
        await ArticleWriter.PutAllAsync(etcd, valid);
        await WaitUntilAsync(() => IsProgrammedAsync(web1, present: true), "web1 programmed again once its endpoint was valid", agent);
        await AssertMatrixAsync(expected, model.Workloads, "web1's endpoint and app's rules valid again", agent);
    }

    /// <summary>
    /// <c>/calico/v1/Ready</c> = <c>yes</c>: one warning, counted; the agent stops being ready
    /// (it holds back datastore updates) but stays live and leaves the kernel exactly as it was,
    /// so the workloads are enforced as before. <c>true</c> again, and it is ready again.
    /// </summary>
    private async Task ReadyInvalidAsync(EtcdClient etcd, ClusterHost host, AgentProcess agent, PlacedCase ready,
        ExpectedConnectivity expected, ArticleModel model)
    {
        var kernel = await LiveArticleCluster.KernelStateAsync(host);
        var before = await LiveArticleCluster.ReadMetricAsync(agent, InvalidKeys);
        await PutAsync(etcd, ready.Key, ready.Value);
        await WaitForWarningsAsync(agent, [ready], "Ready");
        AssertOneWarningEach(agent, [ready]);
        await AssertCountedAsync(agent, before, [ready]);
        await WaitUntilAsync(async () => await agent.HealthStatusAsync("readiness") == HttpStatusCode.ServiceUnavailable, "readiness 503 while Ready is invalid", agent);
        await AssertMatrixAsync(expected, model.Workloads, "Ready invalid: the kernel as it was", agent);
        Assert.Equal(kernel, await LiveArticleCluster.KernelStateAsync(host));

        await PutAsync(etcd, ready.Key, "true");
        await agent.WaitForReadinessAsync(Bound);
        Assert.Equal(kernel, await LiveArticleCluster.KernelStateAsync(host));
    }

    /// <summary>What a reboot does to the host's kernel state: no rules, no sets, no routes of the agent's.</summary>
    private static async Task WipeDataplaneAsync(ClusterHost host)
    {
        await host.Namespace.ExecCheckedAsync("nft", "flush", "ruleset");
        await host.Namespace.ExecCheckedAsync("ipset", "destroy");
        await host.Namespace.IpCheckedAsync("-4", "route", "flush", "proto", "80");
        await host.Namespace.IpCheckedAsync("-6", "route", "flush", "proto", "80");
        Assert.DoesNotContain("felix-", await LiveArticleCluster.KernelStateAsync(host), StringComparison.Ordinal);
    }

    private static void AssertNoErrors(AgentProcess agent) =>
        Assert.DoesNotContain(agent.StandardOutput.Concat(agent.StandardError),
            line => line.Contains("[ERROR]", StringComparison.Ordinal) || line.Contains("[CRITICAL]", StringComparison.Ordinal));

    /// <summary>
    /// Every piece of text of every invalid value (<see cref="BadInputPlacement.Tokens"/>) that the
    /// valid model alone never gave the kernel is absent from every later input of both agents. The
    /// dangerous ones must be among those looked for, or the check proves nothing.
    /// </summary>
    private void AssertNoInvalidText(IEnumerable<PlacedCase> cases, string baselineText, List<RecordedInput> inputs)
    {
        var markers = cases
            .SelectMany(c => c.Tokens.Select(token => (Case: c.Case.Name, Token: token)))
            .Where(m => m.Token.Length >= MinTokenLength && !baselineText.Contains(m.Token, StringComparison.Ordinal))
            .ToList();
        foreach (var dangerous in (string[])["cali$(reboot)", "db;rm -rf /", "cali1 -j ACCEPT", "x\" -j ACCEPT", "tcp; rm", "$(curl x)"])
        {
            Assert.Contains(markers, m => m.Token == dangerous);
        }

        var lines = 0;
        foreach (var input in inputs)
        {
            foreach (var line in input.Text.Split('\n'))
            {
                lines++;
                var found = markers.FirstOrDefault(m => line.Contains(m.Token, StringComparison.Ordinal));
                Assert.True(found.Token is null, $"{input.Tool} input {input.File} has text of case '{found.Case}' ({found.Token}): {line}");
            }
        }

        var tools = string.Join(", ", inputs.GroupBy(i => i.Tool).Select(g => $"{g.Key} {g.Count()}"));
        Log($"{markers.Count} marker texts from {markers.Select(m => m.Case).Distinct().Count()} cases searched in {inputs.Count} later inputs ({tools}), {lines} lines: none found");
        Assert.True(inputs.Count > 0 && lines > 100, $"too little programming recorded after the baseline to prove anything: {inputs.Count} inputs, {lines} lines");
    }
}
