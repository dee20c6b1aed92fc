using System.Net.Sockets;
using System.Text.Json;
using Felix.IntegrationTests.EndToEnd;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;

namespace Felix.IntegrationTests.Faults;

public sealed partial class DriftRepairTests
{
    /// <summary>
    /// One probed path a drift is allowed to break, and why: the fault itself opens it (a denied
    /// path) or closes it (an allowed one) until the agent repairs it.
    /// </summary>
    private sealed record AffectedPath(string From, string To, int Port, AddressFamily Family, string Reason)
    {
        public bool Matches(ProbedPath path) =>
            path.From.Name == From && path.To.Name == To && path.Port == Port && path.Family == Family;

        public override string ToString() => $"{From} -> {To}:{Port} ({(Family == AddressFamily.InterNetworkV6 ? "v6" : "v4")}): {Reason}";
    }

    /// <summary>
    /// A change made by hand inside <see cref="Host"/> to state the agent owns. <see cref="Repaired"/>
    /// is what must hold again besides the host's kernel state text (for state that text does not
    /// show, a sysctl); <see cref="Reported"/> are the words the agent's repair warning must contain,
    /// the object an operator would look for; <see cref="Afterwards"/> checks, once the probes have
    /// stopped, what the repaired state is for when the probes do not show it directly.
    /// </summary>
    private sealed record Drift(
        string Name,
        ClusterHost Host,
        Func<Task> Make,
        IReadOnlyList<AffectedPath> Affected,
        IReadOnlyList<string> Reported,
        Func<Task<bool>>? Repaired = null,
        Func<Task>? Afterwards = null);

    /// <summary>
    /// The six drifts, all in host1 where db1 lives, so each lands on a path that is probed. Which
    /// probed paths each one breaks is written down here with the reason; every other path must
    /// see nothing at all.
    /// </summary>
    private static IReadOnlyList<Drift> Drifts(LiveArticleCluster live)
    {
        var (app1, db1) = (live.Cluster.Workload("app1"), live.Cluster.Workload("db1"));
        var host = db1.Host;
        var ns = host.Namespace;
        var v4 = AddressFamily.InterNetwork;
        var dbSuffix = db1.HostInterface["cali".Length..];
        var dbUsersSet = $"felix-v4-{ArticleModel.DbUsers}";
        return
        [
            new("a felix rule deleted (db's db-users rule in felix-p-db-i, IPv4)", host,
                () => DeleteRuleAsync(ns, "iptables-nft", "felix-p-db-i", rule => rule.Contains(dbUsersSet, StringComparison.Ordinal)),
                [new("app1", "db1", MySql, v4, "the only rule that admits app1 (db-users) to db1:3306 is gone; db1's chain ends in DROP")],
                ["[WARNING]", "felix-p-db-i"]),
            // Flushing the endpoint chain rather than a profile chain: felix-TO-ENDPOINT reaches it by a
            // goto, so an empty chain returns to felix-FORWARD without judging. felix-FORWARD fails
            // closed: the accept mark was cleared before the dispatch and nothing set it, so everything
            // to db1 is dropped. The fault closes db1 to everyone; it opens nothing (web1 stays out).
            new($"a felix chain flushed (db1's felix-to-{dbSuffix}, IPv4)", host,
                () => ns.ExecCheckedAsync("iptables-nft", "-w", "-t", "filter", "-F", $"felix-to-{dbSuffix}"),
                [new("app1", "db1", MySql, v4, "with db1's inbound chain empty no policy sets the accept mark, and felix-FORWARD drops what is unmarked")],
                ["[WARNING]", $"felix-to-{dbSuffix}"]),
            // Both families: FORWARD's policy is ACCEPT and the foreign rules after the hook accept or
            // return, so without the hook nothing of the agent's policy is left in host1.
            new("the FORWARD hook deleted (both families)", host,
                async () =>
                {
                    await DeleteRuleAsync(ns, "iptables-nft", "FORWARD", rule => rule.Contains("-j felix-FORWARD", StringComparison.Ordinal));
                    await DeleteRuleAsync(ns, "ip6tables-nft", "FORWARD", rule => rule.Contains("-j felix-FORWARD", StringComparison.Ordinal));
                },
                [
                    new("web1", "db1", MySql, v4, "FORWARD's ACCEPT policy applies in host1: db1's inbound policy is not consulted"),
                    new("web1", "db1", MySql, AddressFamily.InterNetworkV6, "as for IPv4, in ip6tables"),
                ],
                ["[WARNING]", "hooks moved or missing in: FORWARD"]),
            new("an ipset member deleted (app1 from felix-v4-db-users)", host,
                () => ns.ExecCheckedAsync("ipset", "del", dbUsersSet, app1.Ipv4Address.ToString()),
                [new("app1", "db1", MySql, v4, "db's db-users rule matches app1 by that set only")],
                ["[WARNING]", dbUsersSet]),
            new("a workload route deleted (db1's /32)", host,
                () => ns.IpCheckedAsync("-4", "route", "del", $"{db1.Ipv4Address}/32", "dev", db1.HostInterface),
                [new("app1", "db1", MySql, v4, "without its /32 host1 sends db1's traffic to the LAN's default route")],
                ["[WARNING]", $"{db1.Ipv4Address}/32"]),
            // proxy_arp off alone breaks nothing until db1 asks for its gateway again, which a busy
            // workload does every few tens of seconds; flushing db1's own neighbour cache (the
            // workload's state, not the agent's) makes it ask at once.
            new($"a cali interface's proxy_arp turned off ({db1.HostInterface}, db1's neighbours flushed)", host,
                async () =>
                {
                    await ns.ExecCheckedAsync("sysctl", "-q", "-w", $"net.ipv4.conf.{db1.HostInterface}.proxy_arp=0");
                    await db1.Namespace.IpCheckedAsync("-4", "neigh", "flush", "dev", Workload.InterfaceName);
                },
                [new("app1", "db1", MySql, v4, "db1's answers need its gateway 169.254.1.1 resolved, which only proxy ARP on its veth answers")],
                ["[WARNING]", db1.HostInterface, "proxy_arp=1"],
                async () => await ProxyArpAsync(host, db1.HostInterface) == "1",
                () => AssertGatewayResolvedAsync(db1)),
        ];
    }

    /// <summary>
    /// Deletes the first rule of <paramref name="chain"/> that <paramref name="which"/> picks, by its
    /// number, as an operator would after <c>iptables -L --line-numbers</c>: the agent's rules carry
    /// comments, so a rule spec typed by hand would not match them.
    /// </summary>
    private static async Task DeleteRuleAsync(NetNs ns, string tool, string chain, Func<string, bool> which)
    {
        var rules = (await ns.ExecCheckedAsync(tool, "-w", "-t", "filter", "-S", chain)).StandardOutput
            .Split('\n').Where(line => line.StartsWith($"-A {chain} ", StringComparison.Ordinal)).ToList();
        var index = rules.FindIndex(rule => which(rule));
        Assert.True(index >= 0, $"no such rule in {chain} ({tool}):\n{string.Join('\n', rules)}");
        await ns.ExecCheckedAsync(tool, "-w", "-t", "filter", "-D", chain, (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>db1 has its gateway's address resolved again, to its veth's host side: proxy ARP answers once more.</summary>
    private static async Task AssertGatewayResolvedAsync(ClusterWorkload workload)
    {
        var link = (await workload.Host.Namespace.IpCheckedAsync("-j", "link", "show", "dev", workload.HostInterface)).StandardOutput;
        using var document = JsonDocument.Parse(link);
        var mac = document.RootElement[0].GetProperty("address").GetString();
        var neighbour = (await workload.Namespace.IpCheckedAsync("-4", "neigh", "show", NetworkNamespaces.Ipv4Gateway.ToString(),
            "dev", Workload.InterfaceName)).StandardOutput.Trim();
        Assert.True(mac is not null && neighbour.Contains($"lladdr {mac}", StringComparison.Ordinal),
            $"{workload.Name}'s gateway {NetworkNamespaces.Ipv4Gateway} is not resolved to {workload.HostInterface} ({mac}): '{neighbour}'");
    }

    private static async Task<string> ProxyArpAsync(ClusterHost host, string iface) =>
        (await host.Namespace.ExecCheckedAsync("sysctl", "-n", $"net.ipv4.conf.{iface}.proxy_arp")).StandardOutput.Trim();
}
