using System.Net;
using System.Text.RegularExpressions;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.FixtureTests;

/// <summary>
/// Proves the network fixture builds Calico-shaped hosts and workloads entirely inside namespaces
/// it owns, leaves the root namespace exactly as it was, and cleans up after itself. Each test
/// uses its own <see cref="NetworkNamespaces"/> (own random prefix), so they may run in parallel.
/// </summary>
public sealed partial class NetworkNamespacesTests
{
    private readonly string _ip = Require.Executable("ip", "iproute2");

    public NetworkNamespacesTests()
    {
        Require.Root();
    }

    [Fact]
    public async Task Namespace_is_listed_with_loopback_up_and_gone_after_dispose()
    {
        var net = new NetworkNamespaces();
        NetNs netns;
        try
        {
            Assert.Matches("^fxt[0-9a-f]{6}-$", net.Prefix);
            netns = await net.CreateNamespaceAsync("plain");

            Assert.Equal(net.Prefix + "plain", netns.Name);
            Assert.Contains(netns.Name, await NetworkNamespaces.ListNamespacesAsync());
            Assert.Equal([netns.Name], await net.ListLeftoverNamespacesAsync());
            var loopback = await netns.IpCheckedAsync("-o", "link", "show", "dev", "lo");
            Assert.Contains("LOWER_UP", loopback.StandardOutput, StringComparison.Ordinal);
            await Assert.ThrowsAsync<ArgumentException>(() => net.CreateNamespaceAsync("plain"));
            await Assert.ThrowsAsync<ArgumentException>(() => net.CreateNamespaceAsync("Bad/Name"));
        }
        finally
        {
            await net.DisposeAsync();
        }

        Assert.DoesNotContain(netns.Name, await NetworkNamespaces.ListNamespacesAsync());
        Assert.Empty(await net.ListLeftoverNamespacesAsync());
        Assert.Empty(net.Created);
        await net.DisposeAsync();
        net.Dispose();
    }

    [Fact]
    public async Task One_namespace_can_be_deleted_before_the_rest()
    {
        await using var net = new NetworkNamespaces();
        var early = await net.CreateNamespaceAsync("early");
        var late = await net.CreateNamespaceAsync("late");

        await net.DeleteNamespaceAsync(early);

        Assert.Equal([late.Name], await net.ListLeftoverNamespacesAsync());
        Assert.Equal([late.Name], net.Created);
        await Assert.ThrowsAsync<ArgumentException>(() => net.DeleteNamespaceAsync(early));
    }

    [Fact]
    public async Task Workload_is_wired_to_a_cali_interface_in_the_host_namespace_only()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("host");
        var address = IPAddress.Parse("10.65.1.2");

        var workload = await net.CreateWorkloadAsync(host, address);

        Assert.Matches("^cali[0-9a-f]{11}$", workload.HostInterface);
        Assert.Same(host, workload.Host);
        Assert.StartsWith(net.Prefix, workload.Namespace.Name, StringComparison.Ordinal);
        Assert.Equal("10.65.1.2/32", workload.Cidr);
        Assert.Matches("^[0-9a-f]{2}(:[0-9a-f]{2}){5}$", workload.Mac);

        var hostLink = await host.IpCheckedAsync("-o", "link", "show", "dev", workload.HostInterface);
        Assert.Contains("state UP", hostLink.StandardOutput, StringComparison.Ordinal);
        var rootLinks = await CommandRunner.RunCheckedAsync(_ip, ["-o", "link", "show"]);
        Assert.DoesNotContain(workload.HostInterface, rootLinks.StandardOutput, StringComparison.Ordinal);
        var workloadLinks = await workload.Namespace.IpCheckedAsync("-o", "link", "show");
        Assert.DoesNotContain(workload.HostInterface, workloadLinks.StandardOutput, StringComparison.Ordinal);

        var eth0 = await workload.Namespace.IpCheckedAsync("-o", "-4", "addr", "show", "dev", "eth0");
        Assert.Contains("inet 10.65.1.2/32", eth0.StandardOutput, StringComparison.Ordinal);
        var eth0Link = await workload.Namespace.IpCheckedAsync("-o", "link", "show", "dev", "eth0");
        Assert.Contains("state UP", eth0Link.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"link/ether {workload.Mac}", eth0Link.StandardOutput, StringComparison.Ordinal);
        var routes = Lines((await workload.Namespace.IpCheckedAsync("-4", "route", "show")).StandardOutput);
        Assert.Contains("default via 169.254.1.1 dev eth0", routes);
        Assert.Contains("169.254.1.1 dev eth0 scope link", routes);
    }

    [Fact]
    public async Task Given_interface_name_is_used_and_invalid_names_are_rejected()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("host");

        var workload = await net.CreateWorkloadAsync(host, IPAddress.Parse("10.65.2.2"), "cali2466cece7bc");

        Assert.Equal("cali2466cece7bc", workload.HostInterface);
        await host.IpCheckedAsync("link", "show", "dev", "cali2466cece7bc");
        await Assert.ThrowsAsync<ArgumentException>(
            () => net.CreateWorkloadAsync(host, IPAddress.Parse("10.65.2.3"), "cali-name-too-long"));
    }

    [Fact]
    public async Task Ipv6_workload_gets_a_128_and_a_default_route_via_the_gateway()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("host6");

        var workload = await net.CreateWorkloadAsync(host, IPAddress.Parse("fd65::1:2"));

        Assert.Equal("fd65::1:2/128", workload.Cidr);
        var eth0 = await workload.Namespace.IpCheckedAsync("-o", "-6", "addr", "show", "dev", "eth0");
        Assert.Contains("inet6 fd65::1:2/128", eth0.StandardOutput, StringComparison.Ordinal);
        var routes = (await workload.Namespace.IpCheckedAsync("-6", "route", "show")).StandardOutput;
        Assert.Contains("default via fe80::1 dev eth0", routes, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_reaches_workload_through_a_route_and_root_namespace_is_untouched()
    {
        var rootRoutesBefore = await RootRoutesAsync();
        var rootForwardingBefore = await File.ReadAllTextAsync("/proc/sys/net/ipv4/ip_forward");
        string hostInterface;
        await using (var net = new NetworkNamespaces())
        {
            var host = await net.CreateHostNamespaceAsync("host", IPAddress.Parse("10.65.0.1"));
            var workload = await net.CreateWorkloadAsync(host, IPAddress.Parse("10.65.3.2"));
            hostInterface = workload.HostInterface;

            Assert.False(await PingAsync(host, workload.Address, attempts: 1), "reached the workload without a route");

            // What the agent programs for a local endpoint: forwarding, proxy ARP for the
            // workload's 169.254.1.1 next hop, and a /32 route to it through its cali interface.
            await host.ExecCheckedAsync(
                "sysctl",
                "-w",
                "net.ipv4.ip_forward=1",
                $"net.ipv4.conf.{hostInterface}.proxy_arp=1",
                $"net.ipv4.neigh.{hostInterface}.proxy_delay=0");
            await host.IpCheckedAsync("route", "add", workload.Cidr, "dev", hostInterface);

            Assert.True(await PingAsync(host, workload.Address, attempts: 3), "host namespace could not ping the workload");
        }

        Assert.Equal(rootRoutesBefore, await RootRoutesAsync());
        Assert.Equal(rootForwardingBefore, await File.ReadAllTextAsync("/proc/sys/net/ipv4/ip_forward"));
        var rootLinks = await CommandRunner.RunCheckedAsync(_ip, ["-o", "link", "show"]);
        Assert.DoesNotContain(hostInterface, rootLinks.StandardOutput, StringComparison.Ordinal);
    }

    // One echo request per attempt, each waiting at most 1 s, and only ever to a workload address
    // inside a namespace this test created.
    private static async Task<bool> PingAsync(NetNs from, IPAddress target, int attempts)
    {
        var ping = Require.Executable("ping", "iputils-ping");
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var result = await from.ExecAsync(TimeSpan.FromSeconds(5), ping, "-n", "-c", "1", "-W", "1", target.ToString());
            if (result.Succeeded)
            {
                return true;
            }
        }

        return false;
    }

    private async Task<string> RootRoutesAsync() =>
        (await CommandRunner.RunCheckedAsync(_ip, ["route", "show", "table", "all"])).StandardOutput;

    private static string[] Lines(string text) =>
        [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => SpaceRun().Replace(line, " ").Trim())];

    [GeneratedRegex(" +")]
    private static partial Regex SpaceRun();
}
