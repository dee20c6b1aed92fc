using Felix.Agent.Policy;
using Felix.Dataplane;
using Felix.Dataplane.Iptables;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Policy;

/// <summary>
/// Proves the loads the policy tests rely on can fail: each backend's <c>--test</c> refuses a
/// missing set and an over-long port list, a commit refuses what only the kernel checks, and the
/// failure message points at the rule. Then the seed scenario is loaded for real on each backend
/// and read back with <c>iptables-save</c>. Every test works in namespaces of its own.
/// </summary>
public sealed class RestoreLoaderTests
{
    [Theory]
    [MemberData(nameof(RestoreLoader.BackendsAndFamilies), MemberType = typeof(RestoreLoader))]
    public async Task Test_mode_refuses_a_missing_set_and_too_many_ports_and_accepts_the_same_rules_fixed(
        IptablesBackend backend, IpVersion version)
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("probe");
        var set = $"felix-v{(int)version}-probe";
        var valid = Script($"-A felix-probe -m set --match-set {set} src -p tcp -m multiport --dports {Ports(15)} -j DROP");
        var missingSet = Script($"-A felix-probe -m set --match-set {set}-missing src -j DROP");
        var tooManyPorts = Script($"-A felix-probe -p tcp -m multiport --dports {Ports(16)} -j DROP");

        await RestoreLoader.AssertLoadsAsync(netns, valid, backend, version, LoadMode.Test, "the valid probe");
        var refusedSet = await RestoreLoader.LoadAsync(netns, missingSet, backend, version, LoadMode.Test);
        var refusedPorts = await RestoreLoader.LoadAsync(netns, tooManyPorts, backend, version, LoadMode.Test);

        Assert.False(refusedSet.Succeeded, $"--test accepted a set that does not exist:\n{refusedSet.StandardError}");
        Assert.Contains($"{set}-missing", refusedSet.StandardError, StringComparison.Ordinal);
        Assert.False(refusedPorts.Succeeded, "--test accepted a multiport match of 16 ports");
        Assert.Equal([3], RestoreLoader.BlamedLines(refusedPorts.StandardError, tooManyPorts.Split('\n').Length));
        Assert.Empty(await FelixChainsAsync(netns, backend, version));
    }

    /// <summary>
    /// Legacy resolves a jump's target while parsing, so its <c>--test</c> refuses an undeclared
    /// chain; nft resolves it only in the kernel, which <c>--test</c> never reaches. A commit
    /// refuses it on both, which is why the property test commits as well as tests.
    /// </summary>
    [Theory]
    [MemberData(nameof(RestoreLoader.BackendsAndFamilies), MemberType = typeof(RestoreLoader))]
    public async Task A_jump_to_an_undeclared_chain_is_refused_by_a_commit_and_by_legacy_test_mode(
        IptablesBackend backend, IpVersion version)
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("probe");
        var dangling = Script("-A felix-probe -j felix-undeclared");

        var committed = await RestoreLoader.LoadAsync(netns, dangling, backend, version, LoadMode.Commit);

        Assert.False(committed.Succeeded, "a commit accepted a jump to a chain that was never declared");
        if (backend == IptablesBackend.Legacy)
        {
            var tested = await RestoreLoader.LoadAsync(netns, dangling, backend, version, LoadMode.Test);
            Assert.False(tested.Succeeded, "legacy --test accepted a jump to a chain that was never declared");
            Assert.Contains("felix-undeclared", tested.StandardError, StringComparison.Ordinal);
        }
        Assert.Empty(await FelixChainsAsync(netns, backend, version));
    }

    [Theory]
    [MemberData(nameof(RestoreLoader.BackendsAndFamilies), MemberType = typeof(RestoreLoader))]
    public async Task A_commit_lets_the_kernel_refuse_a_target_outside_its_table(IptablesBackend backend, IpVersion version)
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("probe");
        var masqueradeInFilter = Script("-A felix-probe -j MASQUERADE");

        var committed = await RestoreLoader.LoadAsync(netns, masqueradeInFilter, backend, version, LoadMode.Commit);

        Assert.False(committed.Succeeded, "the kernel accepted MASQUERADE in the filter table");
        Assert.Empty(await FelixChainsAsync(netns, backend, version));
    }

    [Fact]
    public async Task Failure_message_shows_stderr_the_blamed_line_and_the_numbered_script()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("probe");
        var script = Script("-A felix-probe -m set --match-set felix-v4-absent src -j DROP");

        var result = await RestoreLoader.LoadAsync(netns, script, IptablesBackend.Legacy, IpVersion.V4, LoadMode.Test);
        var message = RestoreLoader.DescribeFailure(result, script, "seed 42");

        Assert.False(result.Succeeded);
        Assert.Contains("--noflush --test", message, StringComparison.Ordinal);
        Assert.Contains("(seed 42)", message, StringComparison.Ordinal);
        Assert.Contains("Set felix-v4-absent doesn't exist", message, StringComparison.Ordinal);
        Assert.Contains("lines named by the tool:\n  3: -A felix-probe -m set --match-set felix-v4-absent src -j DROP\n", message,
            StringComparison.Ordinal);
        Assert.Contains("script:\n  1: *filter\n  2: :felix-probe - [0:0]\n", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Blamed_lines_are_read_from_every_form_the_tools_print()
    {
        const string nft = "iptables-nft-restore v1.8.9 (nf_tables): \nline 3: RULE_APPEND failed (Invalid argument): rule in chain felix-a\niptables-restore: line 4 failed\n";
        const string parse = "iptables-restore v1.8.9 (legacy): Couldn't load target `x'\n\nError occurred at line: 7\n";

        Assert.Equal([3, 4], RestoreLoader.BlamedLines(nft, 10));
        Assert.Equal([7], RestoreLoader.BlamedLines(parse, 10));
        Assert.Empty(RestoreLoader.BlamedLines(parse, 5));
    }

    [Fact]
    public void Sets_are_created_with_the_type_and_family_their_name_implies()
    {
        Assert.Equal("felix-v4-db hash:ip family inet", RestoreLoader.SetDefinition("felix-v4-db"));
        Assert.Equal("felix-v6-db hash:ip family inet6", RestoreLoader.SetDefinition("felix-v6-db"));
        Assert.Equal("felix-masq-ipam-pools hash:net family inet", RestoreLoader.SetDefinition("felix-masq-ipam-pools"));
        Assert.Equal("felix-all-ipam-pools-v6 hash:net family inet6", RestoreLoader.SetDefinition("felix-all-ipam-pools-v6"));
        Assert.Throws<ArgumentException>(() => RestoreLoader.SetDefinition("other-set"));
        Assert.Equal(
            ["felix-v4-a", "felix-v4-b"],
            RestoreLoader.ReferencedSets("-m set --match-set felix-v4-a src -m set ! --match-set felix-v4-b dst\n--match-set felix-v4-a dst"));
    }

    [Theory]
    [InlineData(IptablesBackend.Legacy)]
    [InlineData(IptablesBackend.Nft)]
    public async Task Seed_scenario_loads_for_real_and_save_shows_every_felix_chain_and_hook(IptablesBackend backend)
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("seed");
        foreach (var version in RestoreLoader.Families)
        {
            var renderer = SeedPolicy.Renderer(version);
            var script = PolicyScripts.Render(renderer);
            var context = $"seed scenario, {RestoreLoader.BackendName(backend)}, IPv{(int)version}";

            await RestoreLoader.AssertLoadsAsync(netns, script, backend, version, LoadMode.Test, context);
            await RestoreLoader.AssertLoadsAsync(netns, script, backend, version, LoadMode.Commit, context);

            foreach (var table in new[] { TableName.Filter, TableName.Nat })
            {
                var saved = await RestoreLoader.SavedChainsAsync(netns, backend, version, table.ToRestoreName());
                foreach (var chain in renderer.Chains(table))
                {
                    Assert.True(saved.TryGetValue(chain.Name, out var rules), $"{context}: {chain.Name} is not in the saved {table} table");
                    Assert.True(chain.Rules.Length == rules!.Count, $"{context}: {chain.Name} has {rules.Count} rules, {chain.Rules.Length} rendered");
                }
                foreach (var hook in PolicyRenderer.Hooks(table))
                {
                    Assert.Equal(hook.Rule.RenderBody(), saved[hook.BuiltinChain][0]);
                }
            }
            // The article's path to the db container, as iptables-save prints it back.
            var filter = await RestoreLoader.SavedChainsAsync(netns, backend, version, "filter");
            Assert.Contains($"-o {SeedPolicy.DbInterface} -g felix-to-2466cece7bc", filter["felix-TO-ENDPOINT"]);
            Assert.Contains(filter["felix-p-db-i"], rule => rule.Contains($"felix-v{(int)version}-db-users src", StringComparison.Ordinal)
                && rule.Contains("--dports 3306", StringComparison.Ordinal));
        }
    }

    private static string Script(string rule) => $"*filter\n:felix-probe - [0:0]\n{rule}\nCOMMIT\n";

    private static string Ports(int count) => string.Join(',', Enumerable.Range(1000, count));

    private static async Task<IEnumerable<string>> FelixChainsAsync(NetNs netns, IptablesBackend backend, IpVersion version) =>
        (await RestoreLoader.SavedChainsAsync(netns, backend, version, "filter")).Keys
            .Where(name => name.StartsWith(PolicyNames.Prefix, StringComparison.Ordinal));
}
