using System.Text.RegularExpressions;
using Felix.Agent.Policy;
using Felix.Dataplane;
using Felix.Dataplane.Iptables;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Policy;

namespace Felix.IntegrationTests.Iptables;

/// <summary>
/// A test namespace seen through one backend and family: tables built the agent's way over it,
/// the sets its chains need, someone else's chains and rules to leave alone, and what
/// <c>*-save</c> shows there, compared against the rendered chains by their <c>felix:</c> hashes.
/// </summary>
public sealed partial class IptablesHost
{
    /// <summary>The options of a table whose only read-backs are the ones an apply needs or a test asks for.</summary>
    public static readonly IptablesTableOptions NoTimedReadBacks = new()
    {
        RefreshInterval = TimeSpan.Zero,
        PostWriteReadBack = TimeSpan.Zero,
        MaxAttempts = 3,
        InitialBackoff = TimeSpan.Zero,
        MaxBackoff = TimeSpan.Zero,
    };

    public IptablesHost(NetNs netns, IptablesBackend backend, IpVersion version, string? lockFile = null)
    {
        Netns = netns;
        Backend = backend;
        Version = version;
        Runner = new NamespacedCommandRunner(netns, lockFile);
    }

    public NetNs Netns { get; }

    public IptablesBackend Backend { get; }

    public IpVersion Version { get; }

    public NamespacedCommandRunner Runner { get; }

    /// <summary>The plain command of this backend and family, e.g. <c>ip6tables-nft</c>.</summary>
    public string Tool => $"{(Version == IpVersion.V4 ? "iptables" : "ip6tables")}-{RestoreLoader.BackendName(Backend)}";

    public TableUnderTest NewTable(TableName table, IptablesTableOptions? options = null, int lockTimeoutSeconds = 10) =>
        new(table, Commands(lockTimeoutSeconds), Runner, options ?? NoTimedReadBacks);

    public IptablesCommands Commands(int lockTimeoutSeconds) =>
        new(Version, Backend == IptablesBackend.Nft ? IptablesBackendKind.Nft : IptablesBackendKind.Legacy, lockTimeoutSeconds);

    /// <summary>Creates every set the rendered chains of both tables match on, as the set manager would before the first apply.</summary>
    public Task CreateSetsAsync(PolicyRenderer renderer)
    {
        ArgumentNullException.ThrowIfNull(renderer);
        var script = PolicyScripts.Render(renderer);
        return RestoreLoader.CreateSetsAsync(Netns, RestoreLoader.ReferencedSets(script));
    }

    /// <summary>Runs this backend's plain command (<c>iptables-nft -F felix-x</c>, …) in the namespace.</summary>
    public async Task RunToolAsync(params string[] arguments) =>
        await Netns.ExecCheckedAsync([Require.Executable(Tool, "iptables"), .. arguments]);

    /// <summary>
    /// Someone else's state, as a host with Docker and an administrator has it: a DOCKER-USER chain
    /// with two rules, an accept appended to FORWARD, a masquerade in nat POSTROUTING, and an
    /// accept for loopback in OUTPUT. Rules get non-zero counters so a write that resets them shows
    /// up in <see cref="ForeignLinesAsync"/>: set with <c>-c</c> where the tool honours it
    /// (ip6tables-nft 1.8.9 ignores it), and counted for real on the loopback rule by a few pings.
    /// </summary>
    public async Task AddForeignStateAsync()
    {
        var (dockerNet, otherNet, loopback) = Version == IpVersion.V4
            ? ("172.17.0.0/16", "10.9.0.0/16", "127.0.0.1")
            : ("fd17::/64", "fd09::/64", "::1");
        await RunToolAsync("-N", "DOCKER-USER");
        await RunToolAsync("-A", "DOCKER-USER", "-s", otherNet, "-j", "DROP", "-c", "3", "180");
        await RunToolAsync("-A", "DOCKER-USER", "-j", "RETURN", "-c", "40", "5120");
        await RunToolAsync("-A", "FORWARD", "-i", "eth0", "-j", "ACCEPT", "-c", "12", "3456");
        await RunToolAsync("-t", "nat", "-A", "POSTROUTING", "-s", dockerNet, "!", "-o", "docker0", "-j", "MASQUERADE", "-c", "7", "420");
        await RunToolAsync("-A", "OUTPUT", "-o", "lo", "-j", "ACCEPT");
        await Netns.ExecCheckedAsync(Require.Executable("ping", "iputils-ping"), "-c", "3", "-i", "0.01", "-W", "1", "-q", loopback);
        var counted = (await ForeignLinesAsync()).Where(l => l.StartsWith('[') && !l.StartsWith("[0:0]", StringComparison.Ordinal)).ToList();
        Assert.True(counted.Count > 0, $"no foreign rule in {Netns} has a non-zero counter, so a counter reset would go unnoticed");
    }

    /// <summary>
    /// Every line of <c>*-save -c</c> that is not ours, counters included: chain declarations and
    /// rules of other chains and of the built-in ones, minus our hooks and the <c>#</c> comments
    /// (which carry the time). One exception: iptables-legacy zeroes the policy counters of the
    /// built-in chains of every table it writes, even for a plain <c>iptables-legacy -I</c> (libiptc
    /// hands the kernel the whole table and does not carry them over), so no legacy writer can keep
    /// them; on legacy those counters are blanked and the policies themselves still compared.
    /// </summary>
    public async Task<List<string>> ForeignLinesAsync()
    {
        var saved = await Netns.ExecCheckedAsync(RestoreLoader.SaveTool(Backend, Version), "-c");
        return [.. saved.StandardOutput.Split('\n')
            .Where(l => !l.StartsWith('#') && !l.Contains(IptablesTable.OwnedPrefix, StringComparison.Ordinal))
            .Select(l => Backend == IptablesBackend.Legacy && BuiltinPolicy().IsMatch(l) ? BuiltinPolicy().Replace(l, "$1[policy counters]") : l)];
    }

    public Task<IReadOnlyDictionary<string, List<string>>> SavedChainsAsync(TableName table) =>
        RestoreLoader.SavedChainsAsync(Netns, Backend, Version, table.ToRestoreName());

    /// <summary>
    /// What is programmed in <paramref name="table"/> is exactly <paramref name="chains"/> and
    /// <paramref name="hooks"/>: the same felix chains, each with the same rules in the same order
    /// (by hash), and the hooks as the first rules of their built-in chains with no other rule of
    /// ours below them.
    /// </summary>
    public async Task AssertProgrammedAsync(TableName table, IEnumerable<Chain> chains, IEnumerable<Hook> hooks)
    {
        var saved = await SavedChainsAsync(table);
        var desired = chains.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var problems = new List<string>();
        var programmed = saved.Keys.Where(n => n.StartsWith(IptablesTable.OwnedPrefix, StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        problems.AddRange(programmed.Except(desired.Keys).Order(StringComparer.Ordinal).Select(n => $"{n}: programmed but not rendered"));
        foreach (var chain in desired.Values.OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            if (!saved.TryGetValue(chain.Name, out var rules))
            {
                problems.Add($"{chain.Name}: rendered but missing");
                continue;
            }
            var want = chain.Rules.Select(r => r.Hash).ToList();
            var have = rules.Select(r => RuleHash.Find(r)).ToList();
            if (!want.SequenceEqual(have))
            {
                problems.Add($"{chain.Name}: {have.Count} rules [{string.Join(", ", have)}], rendered {want.Count} [{string.Join(", ", want)}]");
            }
        }
        foreach (var group in hooks.GroupBy(h => h.BuiltinChain, StringComparer.Ordinal))
        {
            var want = group.Select(h => h.Rule.Hash).ToList();
            var have = saved.GetValueOrDefault(group.Key)?.Select(r => RuleHash.Find(r)).ToList() ?? [];
            if (!have.Take(want.Count).SequenceEqual(want) || have.Count(h => h is not null) != want.Count)
            {
                problems.Add($"{group.Key}: hooks [{string.Join(", ", want)}] expected on top, rules are [{string.Join(", ", have)}]");
            }
        }
        Assert.True(problems.Count == 0,
            $"{Tool} {table.ToRestoreName()} in {Netns} differs from the rendered state:\n{string.Join('\n', problems)}");
    }

    [GeneratedRegex(@"^(:[A-Z]+ (?:ACCEPT|DROP) )\[\d+:\d+\]$")]
    private static partial Regex BuiltinPolicy();
}
