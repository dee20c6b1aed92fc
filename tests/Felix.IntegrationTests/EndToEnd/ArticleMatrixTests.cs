using System.Diagnostics;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.EndToEnd;

/// <summary>
/// The seed article end to end: its web, app and db profiles (and an unrelated one) in etcd, its
/// workloads spread over two hosts, the agent binary in each host, and the TCP connectivity
/// between every pair of workloads on 22, 80, 443, 3306 and 8080 probed and held against the
/// matrix the article's text gives (<see cref="ArticleModel.Allows"/>): WEB open on 80 and 443
/// to everyone, APP only from web and app, DB on 3306 from <c>db-users</c> and on anything from
/// db, the rest closed. ArticleDryRunTests shows the same topology without an agent has every
/// cell open, so each closed cell here is the agents' doing, and each open cross-host cell needs
/// a route between the hosts (the test's BGP stand-in, or the agents' RemoteWorkloadRoutes).
/// </summary>
public sealed class ArticleMatrixTests
{
    /// <summary>
    /// A DROP costs a probe its whole timeout; 1 s keeps a round of the matrix near two seconds.
    /// A SYN lost while a neighbour resolves reads as closed, which the re-probes of
    /// <see cref="ConnectivityMatrix.WaitUntilMatchesAsync"/> absorb.
    /// </summary>
    private static readonly ProbeSettings FastProbes = new(TimeSpan.FromSeconds(1), 64);

    private readonly ITestOutputHelper _output;

    public ArticleMatrixTests(ITestOutputHelper output)
    {
        Require.Root();
        _output = output;
    }

    [Theory]
    [InlineData("nft")]
    [InlineData("legacy")]
    public async Task Two_agents_enforce_the_articles_matrix_across_hosts_joined_by_bgp_routes(string backend)
    {
        var clock = Stopwatch.StartNew();
        await using var deployment = await ArticleDeployment.StartAsync(cluster => ArticleModel.PlaceAsync(cluster, ipv6: false),
            bgpRoutes: true, new Dictionary<string, string> { ["FELIX_IPTABLESBACKEND"] = backend });
        await deployment.WaitUntilReadyAsync();
        _output.WriteLine($"cluster, article and agents ({backend}) ready in {clock.ElapsedMilliseconds} ms");

        await AssertMatrixAsync(deployment, AddressFamily.InterNetwork);

        // Both runs would pass on one backend if the setting were ignored: the rules must be in
        // the forced backend's tables, and the other backend's must hold none of the agent's.
        var other = backend == "nft" ? "legacy" : "nft";
        foreach (var host in deployment.Cluster.Hosts)
        {
            var used = await ArticleDeployment.RunOnAsync(host, $"iptables-{backend}-save", "-t", "filter");
            var unused = await ArticleDeployment.RunOnAsync(host, $"iptables-{other}-save", "-t", "filter");
            Assert.True(Regex.IsMatch(used, "^-A FORWARD .*-j felix-FORWARD", RegexOptions.Multiline),
                $"{host.Name}: no hook into felix-FORWARD in iptables-{backend}-save:\n{used}");
            Assert.False(unused.Contains("felix-", StringComparison.Ordinal), $"{host.Name}: felix chains in iptables-{other}-save:\n{unused}");
        }

        Assert.Empty(deployment.LoggedErrors());
        _output.WriteLine($"done in {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task With_RemoteWorkloadRoutes_the_agents_route_between_hosts_and_the_articles_matrix_holds()
    {
        var clock = Stopwatch.StartNew();
        await using var deployment = await ArticleDeployment.StartAsync(cluster => ArticleModel.PlaceAsync(cluster, ipv6: false),
            bgpRoutes: false, new Dictionary<string, string> { ["FELIX_REMOTEWORKLOADROUTES"] = "true" });
        await deployment.WaitUntilReadyAsync();
        _output.WriteLine($"cluster, article and agents ready in {clock.ElapsedMilliseconds} ms");

        await AssertMatrixAsync(deployment, AddressFamily.InterNetwork);

        // Each host routes its own workloads to their cali… interface and the other host's via
        // that host's bird_ip (its LAN address), all with the agent's protocol.
        foreach (var host in deployment.Cluster.Hosts)
        {
            var text = await ArticleDeployment.RunOnAsync(host, "ip", "-4", "route", "show", "proto", "80");
            _output.WriteLine($"{host.Name}: ip route show proto 80\n{text}");
            var routes = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .ToDictionary(line => line.Split(' ')[0], line => line);
            foreach (var workload in deployment.Model.Workloads)
            {
                var expected = workload.Host == host
                    ? $"{workload.Ipv4Address} dev {workload.HostInterface} "
                    : $"{workload.Ipv4Address} via {workload.Host.Address} dev {ClusterHost.Uplink} ";
                Assert.True(routes.TryGetValue(workload.Ipv4Address.ToString(), out var route) && (route + " ").StartsWith(expected, StringComparison.Ordinal),
                    $"{host.Name} has no route '{expected.Trim()}…' for {workload}; its proto 80 routes:\n{text}");
            }

            Assert.Equal(deployment.Model.Workloads.Count, routes.Count);
        }

        Assert.Empty(deployment.LoggedErrors());
        _output.WriteLine($"done in {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task A_dual_stack_web_and_app_on_two_hosts_get_the_same_matrix_over_IPv6_as_over_IPv4()
    {
        var clock = Stopwatch.StartNew();
        await using var deployment = await ArticleDeployment.StartAsync(PlaceWebAndAppAsync, bgpRoutes: true, new Dictionary<string, string>());
        await deployment.WaitUntilReadyAsync();
        _output.WriteLine($"cluster, article and agents ready in {clock.ElapsedMilliseconds} ms");

        var ipv6 = await AssertMatrixAsync(deployment, AddressFamily.InterNetworkV6);
        await AssertMatrixAsync(deployment, AddressFamily.InterNetwork);

        // The cells the article's text names, spelled out so they do not rest on the model alone:
        // web exposes 80 and only 80/443 to app; app admits web on anything.
        Assert.True(ipv6.IsOpen("app1", "web1", 80), ipv6.Render());
        Assert.False(ipv6.IsOpen("app1", "web1", 22), ipv6.Render());
        Assert.True(ipv6.IsOpen("web1", "app1", 22), ipv6.Render());
        Assert.Empty(deployment.LoggedErrors());
        _output.WriteLine($"done in {clock.ElapsedMilliseconds} ms");
    }

    // web1 on host1 and app1 on host2, each with an IPv4 and an IPv6 address.
    private static async Task<ArticleModel> PlaceWebAndAppAsync(Cluster cluster)
    {
        var web = await cluster.AddWorkloadAsync(cluster.Hosts[0], "web1", ipv6: true);
        var app = await cluster.AddWorkloadAsync(cluster.Hosts[1], "app1", ipv6: true);
        return new ArticleModel(cluster.Hosts, [(web, ArticleModel.Web), (app, ArticleModel.App)]);
    }

    /// <summary>
    /// Probes the model's matrix over <paramref name="family"/> until it matches (bounded by the
    /// re-probe count) and fails with the differing cells, the tables, and the hosts' chains,
    /// sets, routes and agent output when it never does.
    /// </summary>
    private async Task<ConnectivityMatrix> AssertMatrixAsync(ArticleDeployment deployment, AddressFamily family)
    {
        var clock = Stopwatch.StartNew();
        var expected = deployment.Model.Expected();
        var matrix = await ConnectivityMatrix.WaitUntilMatchesAsync(expected, deployment.Model.Workloads, family, settings: FastProbes);
        _output.WriteLine($"{matrix.Results.Count} {family} cells probed until matching in {clock.ElapsedMilliseconds} ms\n{matrix.Render()}");
        if (!matrix.Matches(expected))
        {
            Assert.Fail($"{matrix.DescribeDifferences(expected)}\n{await deployment.DiagnosticsAsync()}");
        }

        return matrix;
    }
}
