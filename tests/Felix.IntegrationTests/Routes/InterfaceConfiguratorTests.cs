using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;
using Felix.IntegrationTests.Fixtures;
using Prometheus;

namespace Felix.IntegrationTests.Routes;

/// <summary>
/// <see cref="InterfaceConfigurator"/> with the real netlink and <c>/proc/sys</c>, inside a host
/// namespace: a workload reaches its host only once its interface is configured (proxy ARP or
/// proxy NDP for its gateway, the static neighbour entry for the replies), a restart writes no
/// parameter, and an interface deleted behind its back is no error. Routes, which are the route
/// table's, are added here with <c>ip</c>.
/// </summary>
public sealed class InterfaceConfiguratorTests
{
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly RecordingLogger<InterfaceConfigurator> _log = new();

    public InterfaceConfiguratorTests()
    {
        Require.Root();
    }

    [Theory]
    [InlineData("10.65.1.2", "10.99.0.1")]
    [InlineData("fd65::1:2", "fd99::1")]
    public async Task A_workload_reaches_its_host_once_its_interface_is_configured(string workloadAddress, string hostAddress)
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateHostNamespaceAsync("host", IPAddress.Parse(hostAddress));
        var workload = await net.CreateWorkloadAsync(host, IPAddress.Parse(workloadAddress));
        var ipv6 = workload.Address.AddressFamily == AddressFamily.InterNetworkV6;
        await host.IpCheckedAsync(ipv6 ? "-6" : "-4", "route", "add", workload.Cidr, "dev", workload.HostInterface);
        Assert.False(await PingAsync(workload, hostAddress, attempts: 1), "reached the host before configuration");
        using var netlink = NetworkNamespace.Run(host.Name, RouteNetlink.Open);
        var configurator = New(netlink);
        configurator.SetInterface(new WorkloadInterface(workload.HostInterface, PhysicalAddress.Parse(workload.Mac.Replace(':', '-')),
            ipv6 ? [] : [workload.Address], ipv6 ? [workload.Address] : [], ipv6 ? NetworkNamespaces.Ipv6Gateway : null));

        Assert.True(NetworkNamespace.Run(host.Name, configurator.Apply), _log.ToString());

        Assert.True(await PingAsync(workload, hostAddress, attempts: 10), _log.ToString());
        var neighbours = (await host.IpCheckedAsync(ipv6 ? "-6" : "-4", "neigh", "show", "dev", workload.HostInterface)).StandardOutput;
        Assert.Contains($"{workload.Address} lladdr {workload.Mac} PERMANENT", neighbours, StringComparison.Ordinal);
        Assert.Equal("1", await CatAsync(host, SysctlPath.For(workload.HostInterface, ipv6 ? InterfaceSysctl.ProxyNdp : InterfaceSysctl.ProxyArp)));
        Assert.Equal("1", await CatAsync(host, SysctlPath.For(workload.HostInterface, InterfaceSysctl.RpFilter)));
        Assert.Equal("0", await CatAsync(host, SysctlPath.For(workload.HostInterface, InterfaceSysctl.AcceptRa)));
        if (ipv6)
        {
            Assert.Contains("fe80::1", (await host.IpCheckedAsync("-6", "neigh", "show", "proxy", "dev", workload.HostInterface)).StandardOutput, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_down_link_is_set_up_and_a_restart_writes_nothing()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("restart");
        var name = NetworkNamespaces.NewInterfaceName();
        await host.IpCheckedAsync("link", "add", name, "type", "veth", "peer", "name", "peer0");
        using var netlink = NetworkNamespace.Run(host.Name, RouteNetlink.Open);
        var first = New(netlink);
        first.SetInterface(Interface(name, "10.65.2.1"));

        Assert.True(NetworkNamespace.Run(host.Name, first.Apply), _log.ToString());
        Assert.True(first.IsConfigured(name));
        var shown = (await host.IpCheckedAsync("link", "show", name)).StandardOutput;
        Assert.Contains("UP", shown[(shown.IndexOf('<', StringComparison.Ordinal) + 1)..shown.IndexOf('>', StringComparison.Ordinal)].Split(','));
        Assert.Equal("1", await CatAsync(host, SysctlPath.Ipv4Forward));
        Assert.Equal("0", await CatAsync(host, SysctlPath.For(name, InterfaceSysctl.ProxyDelay)));
        var written = Metric("felix_interface_sysctl_writes");
        Assert.True(written > 0);

        var second = New(netlink);
        second.SetInterface(Interface(name, "10.65.2.1"));
        Assert.True(NetworkNamespace.Run(host.Name, second.Apply), _log.ToString());

        Assert.Equal(written, Metric("felix_interface_sysctl_writes"));
        Assert.True(second.IsConfigured(name));
    }

    [Fact]
    public async Task An_interface_deleted_or_recreated_behind_its_back_is_no_error()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("vanish");
        var name = NetworkNamespaces.NewInterfaceName();
        await host.IpCheckedAsync("link", "add", name, "type", "veth", "peer", "name", "peer0");
        using var netlink = NetworkNamespace.Run(host.Name, RouteNetlink.Open);
        var configurator = New(netlink);
        configurator.SetInterface(Interface(name, "10.65.3.1"));
        Assert.True(NetworkNamespace.Run(host.Name, configurator.Apply), _log.ToString());

        // Recreated, the events not passed on: the parameters are found by name, the requests go to the old index (ENODEV).
        await host.IpCheckedAsync("link", "del", name);
        await host.IpCheckedAsync("link", "add", name, "type", "veth", "peer", "name", "peer0");
        configurator.SetInterface(Interface(name, "10.65.3.2"));
        Assert.True(NetworkNamespace.Run(host.Name, configurator.Apply), _log.ToString());
        Assert.False(configurator.IsConfigured(name));

        configurator.OnLinkEvent(new LinkEventsLost());
        Assert.True(NetworkNamespace.Run(host.Name, configurator.Apply), _log.ToString());
        Assert.True(configurator.IsConfigured(name));
        Assert.Contains("10.65.3.2 lladdr 96:c4:86:4d:d7:2c PERMANENT", (await host.IpCheckedAsync("-4", "neigh", "show", "dev", name)).StandardOutput, StringComparison.Ordinal);

        // Deleted, the event not passed on: its parameters are gone.
        await host.IpCheckedAsync("link", "del", name);
        configurator.SetInterface(Interface(name, "10.65.3.3"));
        Assert.True(NetworkNamespace.Run(host.Name, configurator.Apply), _log.ToString());
        Assert.False(configurator.IsConfigured(name));

        Assert.Equal(0, Metric("felix_interface_sysctl_errors"));
        Assert.Equal(0, Metric("felix_netlink_errors"));
        Assert.Equal(2, _log.Lines.Count(l => l.Contains("vanished while being configured", StringComparison.Ordinal)));
    }

    private InterfaceConfigurator New(IRouteNetlink netlink) =>
        new(netlink, new ProcSysctls(), new InterfaceMetrics(Metrics.WithCustomRegistry(_registry)), _log, new InterfaceConfiguratorOptions(), TimeProvider.System);

    private static WorkloadInterface Interface(string name, string address) =>
        new(name, PhysicalAddress.Parse("96-C4-86-4D-D7-2C"), [IPAddress.Parse(address)], [], null);

    private static async Task<bool> PingAsync(Workload workload, string address, int attempts)
    {
        for (var i = 0; i < attempts; i++)
        {
            if ((await workload.Namespace.ExecAsync(TimeSpan.FromSeconds(10), "ping", "-c", "1", "-W", "1", address)).Succeeded)
            {
                return true;
            }
        }
        return false;
    }

    private static async Task<string> CatAsync(NetNs netns, SysctlPath path) =>
        (await netns.ExecCheckedAsync("cat", $"/proc/sys/{path.Relative}")).StandardOutput.Trim();

    private double Metric(string name)
    {
        using var stream = new MemoryStream();
        _registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        var lines = Encoding.UTF8.GetString(stream.ToArray()).Split('\n');
        // A bare name sums all its labelled series; the family must be registered, so a zero is not vacuous.
        var family = name.Split('{')[0];
        Assert.Contains(lines, l => l.StartsWith($"# TYPE {family} ", StringComparison.Ordinal));
        return lines.Where(l => l.StartsWith(name + " ", StringComparison.Ordinal) || (!name.Contains('{', StringComparison.Ordinal) && l.StartsWith(name + "{", StringComparison.Ordinal)))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
    }
}
