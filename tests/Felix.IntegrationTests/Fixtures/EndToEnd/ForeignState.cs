namespace Felix.IntegrationTests.Fixtures.EndToEnd;

/// <summary>
/// What other programs and the host's administrator leave in a host beside the agent, as found on
/// real Calico hosts: Docker's <c>DOCKER-USER</c> chain with rules and its jump from
/// <c>FORWARD</c>, an admin's own <c>FORWARD</c> rule, an ipset that is not the agent's, and static
/// routes of both families. The agent owns none of it, so after every fault and every repair the
/// text of all of it must be what <see cref="InstallAsync"/> left, byte for byte
/// (<see cref="SnapshotAsync"/>). Written with the backend the agent uses in that host, since
/// the agent reads and writes only that one.
/// </summary>
public sealed class ForeignState
{
    public const string DockerChain = "DOCKER-USER";
    public const string AdminSet = "admin-blocklist";

    private readonly ClusterHost _host;
    private readonly string _backend;
    private readonly string? _lockFile;

    private ForeignState(ClusterHost host, string backend, string? lockFile)
    {
        _host = host;
        _backend = backend;
        _lockFile = lockFile;
    }

    /// <summary>
    /// Installs the foreign state in <paramref name="host"/> with the <paramref name="backend"/>
    /// (<c>nft</c> or <c>legacy</c>) tools and returns the handle that snapshots it. Call it before
    /// or after the agent starts: the agent's hooks go to the top of <c>FORWARD</c> either way.
    /// With <c>legacy</c>, <paramref name="lockFile"/> is the private xtables lock the test gave the
    /// agents (<c>XTABLES_LOCKFILE</c>), so neither this nor <see cref="SnapshotAsync"/> ever takes
    /// the machine's own <c>/run/xtables.lock</c>.
    /// </summary>
    public static async Task<ForeignState> InstallAsync(ClusterHost host, string backend = "nft", string? lockFile = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (backend is not ("nft" or "legacy"))
        {
            throw new ArgumentException($"backend {backend} is neither nft nor legacy", nameof(backend));
        }

        var state = new ForeignState(host, backend, lockFile);
        var ns = host.Namespace;
        foreach (var (tool, blocked, lan) in new[] { ("iptables", "172.17.0.0/16", "10.99.0.0/24"), ("ip6tables", "fd17::/64", "fd99::/64") })
        {
            await state.IptablesAsync(tool, "-N", DockerChain);
            await state.IptablesAsync(tool, "-A", DockerChain, "-s", blocked, "-p", "tcp", "--dport", "25", "-j", "DROP");
            await state.IptablesAsync(tool, "-A", DockerChain, "-j", "RETURN");
            await state.IptablesAsync(tool, "-A", "FORWARD", "-j", DockerChain);
            await state.IptablesAsync(tool, "-A", "FORWARD", "-s", lan, "-p", "tcp", "--dport", "2222",
                "-m", "comment", "--comment", "admin: jump host", "-j", "ACCEPT");
        }

        await ns.ExecCheckedAsync("ipset", "create", AdminSet, "hash:ip", "family", "inet");
        await ns.ExecCheckedAsync("ipset", "add", AdminSet, "203.0.113.7");
        await ns.ExecCheckedAsync("ipset", "add", AdminSet, "203.0.113.8");
        await ns.IpCheckedAsync("-4", "route", "add", "198.51.100.0/24", "via", Cluster.LanGateway.ToString(), "dev", ClusterHost.Uplink, "proto", "static");
        await ns.IpCheckedAsync("-6", "route", "add", "2001:db8:1::/64", "via", Cluster.LanGatewayV6.ToString(), "dev", ClusterHost.Uplink, "proto", "static");
        return state;
    }

    /// <summary>
    /// The foreign state as text: every iptables line (<c>-S</c> form, no counters) that is not
    /// the agent's — every rule of <c>FORWARD</c> that does not name a felix chain and all of
    /// <c>DOCKER-USER</c> — of both families, the foreign set as <c>ipset save</c> writes it
    /// (members sorted: the kernel lists them in hash order) and the static routes of both families.
    /// </summary>
    public async Task<string> SnapshotAsync()
    {
        var lines = new List<string>();
        var ns = _host.Namespace;
        foreach (var tool in new[] { "iptables", "ip6tables" })
        {
            lines.Add($"# {tool}");
            var rules = (await IptablesAsync(tool, "-S")).StandardOutput.Split('\n');
            lines.AddRange(rules.Where(IsForeign));
        }

        lines.Add("# ipset");
        var set = (await ns.ExecCheckedAsync("ipset", "save", AdminSet)).StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.AddRange(set.Where(l => !l.StartsWith("add ", StringComparison.Ordinal)));
        lines.AddRange(set.Where(l => l.StartsWith("add ", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        foreach (var flag in new[] { "-4", "-6" })
        {
            lines.Add($"# routes {flag}");
            lines.AddRange((await ns.IpCheckedAsync(flag, "route", "show", "proto", "static")).StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }

        return string.Join('\n', lines);
    }

    /// <summary>Fails, showing both texts, unless the foreign state is exactly <paramref name="installed"/>.</summary>
    public async Task AssertUnchangedAsync(string installed, string after)
    {
        var now = await SnapshotAsync();
        Assert.True(now == installed, $"foreign state in {_host.Name} changed {after}:\n--- installed:\n{installed}\n--- now:\n{now}");
    }

    // -w: wait for the xtables lock (legacy only takes one) rather than fail while an agent holds it.
    private Task<CommandResult> IptablesAsync(string tool, params string[] arguments)
    {
        string[] command = [$"{tool}-{_backend}", "-w", "-t", "filter", .. arguments];
        return _lockFile is null
            ? _host.Namespace.ExecCheckedAsync(command)
            : _host.Namespace.ExecCheckedAsync(["env", $"XTABLES_LOCKFILE={_lockFile}", .. command]);
    }

    private static bool IsForeign(string rule) =>
        rule.StartsWith($"-N {DockerChain}", StringComparison.Ordinal)
        || rule.StartsWith($"-A {DockerChain} ", StringComparison.Ordinal)
        || (rule.StartsWith("-A FORWARD ", StringComparison.Ordinal) && !rule.Contains("felix-", StringComparison.Ordinal));
}
