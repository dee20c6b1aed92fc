using System.Net;
using System.Text.RegularExpressions;
using Felix.Agent.Calculation;
using Felix.Agent.Dataplane;
using Felix.Agent.Model;
using Felix.Agent.Policy;
using Felix.Dataplane.Iptables;
using Felix.Dataplane.Netlink;

namespace Felix.Agent.Tests.Dataplane;

/// <summary>
/// What one apply writes and in which order: nothing before the datastore is in sync, then the
/// seed article's sets, chains, hooks, routes and interface settings in one go — sets before the
/// rules that match on them, destroyed only after the rules that used them are gone.
/// </summary>
public partial class DataplaneDriverApplyTests
{
    private static readonly TimeSpan Throttle = new DriverOptions().MinApplyInterval;

    [Fact]
    public async Task Nothing_is_written_before_in_sync_however_many_batches_arrive()
    {
        await using var host = new DriverHarness();
        host.AddLinkBeforeStart(SeedCluster.DbInterface);
        await host.StartAsync();
        var snapshot = new SeedCluster().Snapshot();
        Assert.IsType<InSync>(snapshot[^1]);

        // One batch per update, each taken by the loop before the next arrives, and time moving on.
        foreach (var update in snapshot.SkipLast(1))
        {
            await host.SendAsync(update);
            await host.AdvanceAsync(TimeSpan.FromSeconds(2));
        }

        Assert.Equal(0, host.Applies);
        Assert.Empty(host.Commands.Runs);
        Assert.Empty(host.Netlink.Batches);
        Assert.Equal((0, 0), (host.Netlink.ListLinksCalls, host.Netlink.ListRoutesCalls));
        Assert.Equal(0, host.Sysctls.Reads);
        Assert.Empty(host.Sysctls.Writes);
        Assert.False(host.Health.Snapshot().Ready);

        await host.SendAsync(new InSync());

        Assert.Equal(1, host.Applies);
        Assert.True(host.Commands.Ipset.Exists("felix-v4-db"));
        Assert.NotNull(host.Netlink.Route(Workloads.Host("192.168.0.1")));
    }

    [Fact]
    public async Task One_apply_after_in_sync_programs_the_seed_sets_chains_hooks_routes_and_interface()
    {
        await using var host = new DriverHarness();
        host.AddLinkBeforeStart(SeedCluster.DbInterface);
        await host.StartAsync();
        var snapshot = new SeedCluster().Snapshot();

        await host.SendAsync(snapshot);

        Assert.Equal(1, host.Applies);
        var ipset = host.Commands.Ipset;
        Assert.Equal(["192.168.0.1"], ipset.Members("felix-v4-db"));
        Assert.Equal(["192.168.0.2"], ipset.Members("felix-v4-db-users"));
        Assert.Empty(ipset.Members("felix-v6-db")!);
        Assert.Empty(ipset.Members("felix-v6-db-users")!);

        foreach (var version in new[] { IpVersion.V4, IpVersion.V6 })
        {
            var expected = Rendered(version, snapshot);
            foreach (var table in new[] { TableName.Filter, TableName.Nat })
            {
                var name = table.ToRestoreName();
                var programmed = host.Commands.Iptables.ChainNames(version, name).Where(c => c.StartsWith("felix-", StringComparison.Ordinal));
                Assert.Equal(expected.Chains(table).Select(c => c.Name).Order(StringComparer.Ordinal), programmed.Order(StringComparer.Ordinal));
                foreach (var chain in expected.Chains(table))
                {
                    Assert.Equal(chain.Rules.Length, host.Commands.Iptables.Chain(version, name, chain.Name)!.Count);
                }
                // Each hook is the first rule of its built-in chain.
                foreach (var hook in PolicyRenderer.Hooks(table))
                {
                    var first = host.Commands.Iptables.Chain(version, name, hook.BuiltinChain)![0];
                    Assert.EndsWith($"-j {hook.Rule.Action.TargetChain}", first, StringComparison.Ordinal);
                }
            }
            var tagSet = PolicyNames.TagSet("db-users", version);
            Assert.Contains(host.Commands.Iptables.Chain(version, "filter", "felix-p-db-i")!,
                rule => rule.Contains($"--match-set {tagSet} src", StringComparison.Ordinal) && rule.Contains("--dports 3306", StringComparison.Ordinal));
            Assert.Contains(host.Commands.Iptables.Chain(version, "filter", "felix-TO-ENDPOINT")!,
                rule => rule.Contains("-o cali2466cece7bc", StringComparison.Ordinal) && rule.EndsWith("-g felix-to-2466cece7bc", StringComparison.Ordinal));
        }

        var link = host.Netlink.IndexOf(SeedCluster.DbInterface);
        Assert.Equal(new RouteSpec(Workloads.Host("192.168.0.1"), link, null, false, RouteScope.Link, 80), host.Netlink.Route(Workloads.Host("192.168.0.1")));
        Assert.Equal("1", host.Sysctls[$"net/ipv4/conf/{SeedCluster.DbInterface}/proxy_arp"]);
        var neighbour = Assert.Single(host.Netlink.NeighboursOf(link));
        Assert.Equal((IPAddress.Parse("192.168.0.1"), "96C4864DD72C"), (neighbour.Key, neighbour.Value));
    }

    [Fact]
    public async Task Every_set_is_created_and_filled_before_the_first_restore_that_matches_on_it()
    {
        await using var host = new DriverHarness();
        await host.StartAsync();
        var seen = new List<(string Set, IReadOnlyList<string>? Members)>();
        host.Commands.BeforeRun = command =>
        {
            if (command.FileName.EndsWith("-restore", StringComparison.Ordinal))
            {
                seen.AddRange(MatchSet().Matches(command.StandardInput!.ToString()).Select(m => (m.Groups[1].Value, host.Commands.Ipset.Members(m.Groups[1].Value))));
            }
            return Task.CompletedTask;
        };

        await host.SendAsync(new SeedCluster().Snapshot());

        Assert.Equal(1, host.Applies);
        Assert.True(host.Health.Snapshot().Ready);
        Assert.Equal(
            ["felix-all-ipam-pools", "felix-masq-ipam-pools", "felix-v4-db", "felix-v4-db-users", "felix-v6-db", "felix-v6-db-users"],
            seen.Select(s => s.Set).Distinct().Order(StringComparer.Ordinal));
        Assert.All(seen, s => Assert.Equal(host.Commands.Ipset.Members(s.Set), s.Members));
        Assert.Contains(seen, s => s.Members is ["192.168.0.2"]);
    }

    [Fact]
    public async Task A_removed_tag_set_is_destroyed_only_after_the_restores_that_stopped_using_it()
    {
        await using var host = new DriverHarness();
        await host.StartAsync();
        var seed = new SeedCluster();
        await host.SendAsync(seed.Snapshot());
        var referencesAtDestroy = new List<int>();
        host.Commands.BeforeRun = command =>
        {
            if (command.StandardInput?.ToString().Contains("destroy felix-v4-db-users", StringComparison.Ordinal) == true)
            {
                referencesAtDestroy.Add(host.Commands.SetReferences().GetValueOrDefault("felix-v4-db-users"));
            }
            return Task.CompletedTask;
        };
        var before = host.Commands.Runs.Count;

        // db no longer admits db-users: the calculation drops the tag's sets with the rule.
        var change = seed.Put(SeedCluster.DbRulesKey, """{ "inbound_rules": [ { "action": "allow", "src_tag": "db" } ], "outbound_rules": [ { "action": "allow" } ] }""");
        Assert.Contains(new IpSetRemove(new IpSetId("db-users", IpVersion.V4)), change);
        await host.SendAsync(change);
        await host.AdvanceAsync(Throttle);

        Assert.Equal(2, host.Applies);
        var runs = host.Commands.Runs.Skip(before).ToList();
        Assert.All(runs, run => Assert.True(run.Succeeded, $"{run.Program} {run.FirstLine} was refused"));
        var destroy = runs.FindIndex(r => r.Input.Contains("destroy felix-v4-db-users", StringComparison.Ordinal));
        var v4Restore = runs.FindIndex(r => r.Program == "iptables-nft-restore" && r.FirstLine == "*filter");
        var v6Restore = runs.FindIndex(r => r.Program == "ip6tables-nft-restore" && r.FirstLine == "*filter");
        Assert.True(v4Restore >= 0 && v6Restore >= 0 && destroy > v4Restore && destroy > v6Restore,
            string.Join("\n", runs.Select(r => $"{r.Program} | {r.FirstLine}")));
        Assert.Equal([0], referencesAtDestroy);
        Assert.False(host.Commands.Ipset.Exists("felix-v4-db-users"));
        Assert.False(host.Commands.Ipset.Exists("felix-v6-db-users"));
        Assert.DoesNotContain(host.Commands.Iptables.Chain(IpVersion.V4, "filter", "felix-p-db-i")!, r => r.Contains("db-users", StringComparison.Ordinal));
    }

    /// <summary>The chains the renderer gives for the same batch, for comparison with what landed in the fake.</summary>
    private static PolicyRenderer Rendered(IpVersion version, IEnumerable<DataplaneUpdate> updates)
    {
        var renderer = new PolicyRenderer(version, new PolicyConfig("cali", 0xff000000));
        foreach (var update in updates)
        {
            renderer.OnUpdate(update);
        }
        renderer.Render();
        return renderer;
    }

    [GeneratedRegex(@"--match-set (\S+)")]
    private static partial Regex MatchSet();
}
