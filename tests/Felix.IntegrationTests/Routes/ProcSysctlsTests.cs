using System.Globalization;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Routes;

/// <summary>
/// <see cref="ProcSysctls"/> on the real <c>/proc/sys</c>, run inside a test namespace: it reads and
/// writes that namespace's parameters (what <c>cat</c> there shows) and never the machine's, and a
/// missing or deleted interface is missing, not an error. The machine's own parameters are only read.
/// </summary>
public sealed class ProcSysctlsTests
{
    public ProcSysctlsTests()
    {
        Require.Root();
    }

    [Fact]
    public async Task Reads_and_writes_the_parameters_of_the_namespace_it_runs_in_and_no_other()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("sysctl");
        var name = NetworkNamespaces.NewInterfaceName();
        await host.IpCheckedAsync("link", "add", name, "type", "veth", "peer", "name", "peer0");
        var proxyArp = SysctlPath.For(name, InterfaceSysctl.ProxyArp);
        var machineForward = File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim();
        var otherForward = machineForward == "1" ? 0 : 1;

        var (before, written, after, forward) = NetworkNamespace.Run(host.Name, () =>
        {
            var sysctls = new ProcSysctls();
            return (sysctls.Read(proxyArp), sysctls.Write(proxyArp, 1), sysctls.Read(proxyArp), sysctls.Write(SysctlPath.Ipv4Forward, otherForward));
        });

        Assert.Equal(SysctlResult.Read("0"), before);
        Assert.Equal(SysctlResult.Done, written);
        Assert.Equal(SysctlResult.Read("1"), after);
        Assert.Equal(SysctlResult.Done, forward);
        Assert.Equal("1", await CatAsync(host, proxyArp));
        Assert.Equal(otherForward.ToString(CultureInfo.InvariantCulture), await CatAsync(host, SysctlPath.Ipv4Forward));
        Assert.Equal(machineForward, File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim());
        Assert.False(Directory.Exists($"/proc/sys/net/ipv4/conf/{name}"));
    }

    [Fact]
    public async Task A_missing_or_deleted_interface_is_missing()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("sysctl-gone");
        var name = NetworkNamespaces.NewInterfaceName();
        await host.IpCheckedAsync("link", "add", name, "type", "veth", "peer", "name", "peer0");
        var rpFilter = SysctlPath.For(name, InterfaceSysctl.RpFilter);
        var never = SysctlPath.For(NetworkNamespaces.NewInterfaceName(), InterfaceSysctl.AcceptRa);

        Assert.Equal(SysctlOutcome.Ok, NetworkNamespace.Run(host.Name, () => new ProcSysctls().Read(rpFilter)).Outcome);
        await host.IpCheckedAsync("link", "del", name);
        var results = NetworkNamespace.Run(host.Name, () =>
        {
            var sysctls = new ProcSysctls();
            return new[] { sysctls.Read(rpFilter), sysctls.Write(rpFilter, 1), sysctls.Read(never), sysctls.Write(never, 0) };
        });

        Assert.All(results, r => Assert.Equal(SysctlResult.Missing, r));
    }

    private static async Task<string> CatAsync(NetNs netns, SysctlPath path) =>
        (await netns.ExecCheckedAsync("cat", $"/proc/sys/{path.Relative}")).StandardOutput.Trim();
}
