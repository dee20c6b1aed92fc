using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using dotnet_etcd;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.FixtureTests;

/// <summary>
/// Proves the end-to-end topology before any agent runs in it: the LAN, etcd and hosts come up
/// inside namespaces only and go away completely; every host reaches the others and etcd over the
/// LAN; and with the routes BGP and the agent would make, set here by hand (no iptables), a
/// workload on one host connects to a listener in a workload on another, while closed ports and
/// unroutable addresses are reported closed. Each test builds its own cluster (own prefix).
/// </summary>
public sealed class ClusterTests
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(10);
    private readonly ITestOutputHelper _output;
    private readonly string _ip = Require.Executable("ip", "iproute2");

    public ClusterTests(ITestOutputHelper output)
    {
        Require.Root();
        _output = output;
    }

    [Fact]
    public async Task Topology_is_built_in_namespaces_only_and_deleted_on_dispose()
    {
        var rootLinksBefore = await RootAsync("-o", "link", "show");
        var rootRoutesBefore = await RootAsync("route", "show", "table", "all");
        var clock = Stopwatch.StartNew();
        var cluster = await Cluster.StartAsync(hostCount: 3);
        _output.WriteLine($"3 hosts and etcd up in {clock.ElapsedMilliseconds} ms");
        string[] names;
        try
        {
            names = [.. cluster.Namespaces.Created];
            var prefix = cluster.Namespaces.Prefix;
            Assert.Equal(
                new[] { "lan", "etcd", "host1", "host2", "host3" }.Select(n => prefix + n).Order(StringComparer.Ordinal),
                names.Order(StringComparer.Ordinal));
            Assert.Equal(["host1", "host2", "host3"], cluster.Hosts.Select(h => h.Name));

            var bridgePorts = await cluster.Lan.IpCheckedAsync("-o", "link", "show", "master", "br0");
            foreach (var port in new[] { "etcd", "host1", "host2", "host3" })
            {
                Assert.Contains($": {port}@", bridgePorts.StandardOutput, StringComparison.Ordinal);
            }

            var host2 = cluster.Host("host2");
            var addresses = (await host2.Namespace.IpCheckedAsync("-o", "addr", "show", "dev", "eth0")).StandardOutput;
            Assert.Contains("inet 10.99.0.2/24", addresses, StringComparison.Ordinal);
            Assert.Contains("inet6 fd99::2/64", addresses, StringComparison.Ordinal);
            var routes = (await host2.Namespace.IpCheckedAsync("route", "show", "default")).StandardOutput;
            Assert.Contains("default via 10.99.0.253 dev eth0", routes, StringComparison.Ordinal);

            // Host to host across the bridge, both families: a listener on host3 itself.
            await using var listener = Listener.Start(cluster.Host("host3").Namespace, [7000]);
            foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
            {
                var result = await Probe.ConnectAsync(cluster.Host("host1").Namespace, cluster.Host("host3").AddressOf(family), 7000, Probe.DefaultTimeout);
                Assert.True(result.IsOpen, $"host1 -> host3 over {family}: {result}");
            }

            Assert.Equal([IPAddress.Parse("10.99.0.1"), IPAddress.Parse("fd99::1")], listener.Accepted.Select(c => c.Source));
            Assert.Equal(rootLinksBefore, await RootAsync("-o", "link", "show"));
        }
        finally
        {
            await cluster.DisposeAsync();
        }

        var left = await NetworkNamespaces.ListNamespacesAsync();
        Assert.Empty(left.Intersect(names));
        Assert.Empty(await cluster.Namespaces.ListLeftoverNamespacesAsync());
        Assert.False(cluster.Etcd.IsRunning);
        Assert.False(Directory.Exists(cluster.Etcd.RootDirectory));
        Assert.Equal(rootRoutesBefore, await RootAsync("route", "show", "table", "all"));
    }

    [Fact]
    public async Task Etcd_answers_from_inside_every_host_and_keeps_its_data_across_a_restart()
    {
        await using var cluster = await Cluster.StartAsync(hostCount: 2);
        Assert.Equal("http://10.99.0.254:2379", cluster.Etcd.ClientUrl);
        using (var client = cluster.CreateEtcdClient())
        {
            await client.PutAsync("/fixture-test/cluster", "from-the-test", deadline: Deadline());
        }

        var etcdctl = Require.Executable("etcdctl", "etcd-client");
        var env = Require.Executable("env", "coreutils");
        foreach (var host in cluster.Hosts)
        {
            // An independent client (etcdctl, v3 API) run in the host, and a gRPC client of the test
            // process whose sockets are made there: both only have the LAN to reach etcd by.
            var read = await host.Namespace.ExecAsync(CommandTimeout, env, "ETCDCTL_API=3", etcdctl, "--endpoints", cluster.Etcd.ClientUrl,
                "--dial-timeout", "5s", "--command-timeout", "5s", "get", "--print-value-only", "/fixture-test/cluster");
            Assert.True(read.Succeeded, $"{read.CommandLine}: exit {read.ExitCode}, {read.StandardError}");
            Assert.Equal("from-the-test", read.StandardOutput.Trim());

            using var channel = NamespaceSockets.CreateGrpcChannel(host.Namespace, cluster.Etcd.ClientUrl);
            using var fromHost = new EtcdClient(channel.CreateCallInvoker());
            await fromHost.PutAsync($"/fixture-test/{host.Name}", host.Address.ToString(), deadline: Deadline());
        }

        await cluster.Etcd.RestartAsync();

        using var after = cluster.CreateEtcdClient();
        foreach (var host in cluster.Hosts)
        {
            Assert.Equal(host.Address.ToString(), await after.GetValAsync($"/fixture-test/{host.Name}", deadline: Deadline()));
        }
    }

    [Fact]
    public async Task Workload_reaches_a_listener_on_another_host_through_routes_set_by_hand()
    {
        await using var cluster = await Cluster.StartAsync(hostCount: 2, withEtcd: false);
        var (host1, host2) = (cluster.Host("host1"), cluster.Host("host2"));
        var client = await cluster.AddWorkloadAsync(host1, "client");
        var server = await cluster.AddWorkloadAsync(host2, "server");
        var neighbour = await cluster.AddWorkloadAsync(host2, "neighbour", ipv6: false);
        foreach (var workload in cluster.Workloads)
        {
            await cluster.RouteByHandAsync(workload);
        }

        await cluster.AddBgpRoutesAsync();
        var bgpRoutes = (await host1.Namespace.IpCheckedAsync("route", "show", "proto", "12")).StandardOutput;
        Assert.Contains($"{server.Ipv4Address} via 10.99.0.2 dev eth0", bgpRoutes, StringComparison.Ordinal);
        var listener = cluster.Listen(server, [80, 3306]);

        foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
        {
            var to = server.AddressOf(family);
            var open = await Probe.ConnectAsync(client.Namespace, to, 80, Probe.DefaultTimeout);
            Assert.True(open.IsOpen, $"client -> server:80 over {family}: {open}");
            var closedPort = await Probe.ConnectAsync(client.Namespace, to, 81, Probe.DefaultTimeout);
            Assert.Equal(ProbeOutcome.Refused, closedPort.Outcome);
        }

        // The source arrives as the client's own address: no NAT anywhere on the path.
        Assert.Equal(1, listener.AcceptedCount(80, client.Ipv4Address));
        Assert.Equal(1, listener.AcceptedCount(80, client.Ipv6Address));

        // An address nobody routes: host1 sends it to the LAN gateway, which does not forward and
        // says nothing, exactly what a DROP looks like from the client.
        var nowhere = await Probe.ConnectAsync(client.Namespace, IPAddress.Parse("192.168.0.200"), 80, TimeSpan.FromSeconds(1));
        Assert.Equal(ProbeOutcome.TimedOut, nowhere.Outcome);

        // The routed topology as a matrix: open exactly where something listens (IPv4, all three).
        cluster.Listen(neighbour, [22]);
        int[] ports = [22, 80, 3306];
        var expected = ExpectedConnectivity.Build(
            cluster.Workloads.Select(w => w.Name), cluster.Workloads.Select(w => w.Name), ports,
            cell => (cell.To, cell.Port) is ("server", 80 or 3306) or ("neighbour", 22));
        var matrix = await ConnectivityMatrix.ProbeAsync(cluster.Workloads, cluster.Workloads, ports, AddressFamily.InterNetwork);
        _output.WriteLine(matrix.Render());
        Assert.True(matrix.Matches(expected), matrix.DescribeDifferences(expected));
        Assert.All(matrix.Results.Values.Where(r => !r.IsOpen), r => Assert.Equal(ProbeOutcome.Refused, r.Outcome));
    }

    private async Task<string> RootAsync(params string[] args) =>
        (await CommandRunner.RunCheckedAsync(_ip, args)).StandardOutput;

    private static DateTime Deadline() => DateTime.UtcNow.AddSeconds(10);
}
