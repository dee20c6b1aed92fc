using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.Packaging;

/// <summary>
/// The published agent inside felix.service's sandbox (<see cref="UnitSandbox"/>, parsed from the
/// unit): with a real etcd and one local workload it programs the host namespace and becomes ready;
/// and the sandbox is real, refusing what the unit forbids.
/// </summary>
public sealed class UnitSandboxTests
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    // CAP_NET_ADMIN (12) and CAP_NET_RAW (13), the unit's CapabilityBoundingSet.
    private const string UnitCapabilities = "0000000000003000";

    private readonly ITestOutputHelper _output;

    public UnitSandboxTests(ITestOutputHelper output)
    {
        Require.Root();
        _output = output;
    }

    [Theory]
    [InlineData("nft")]
    [InlineData("legacy")]
    public async Task In_the_units_sandbox_the_agent_programs_a_local_endpoint_and_becomes_ready(string backend)
    {
        await using var cluster = await Cluster.StartAsync(1);
        var host = cluster.Hosts[0];
        var workload = await cluster.AddDbEndpointAsync(host, "db1");
        using var sandbox = await UnitSandbox.FromUnitAsync(SystemdUnit.Load(SystemdUnit.FelixServicePath));

        var agent = await cluster.StartAgentAsync(host, new Dictionary<string, string> { ["FELIX_IPTABLESBACKEND"] = backend },
            ["--config-file", "/dev/null"], sandbox.Launcher());
        await agent.WaitForReadinessAsync(ReadyTimeout);

        // The sandbox is on the agent's own process, not only on the launcher before it.
        var status = await File.ReadAllLinesAsync($"/proc/{agent.ProcessId.ToString(CultureInfo.InvariantCulture)}/status");
        _output.WriteLine(string.Join('\n', status.Where(l => l.StartsWith("Cap", StringComparison.Ordinal) || l.StartsWith("NoNewPrivs", StringComparison.Ordinal) || l.StartsWith("Seccomp", StringComparison.Ordinal))));
        Assert.Contains($"CapBnd:\t{UnitCapabilities}", status);
        Assert.Contains($"CapEff:\t{UnitCapabilities}", status);
        Assert.Contains("NoNewPrivs:\t1", status);
        Assert.Contains("Seccomp:\t2", status);

        var suffix = workload.HostInterface["cali".Length..];
        foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
        {
            var save = family == AddressFamily.InterNetwork ? $"iptables-{backend}-save" : $"ip6tables-{backend}-save";
            var filter = (await host.Namespace.ExecCheckedAsync(save, "-t", "filter")).StandardOutput;
            Assert.Contains($":felix-to-{suffix} ", filter, StringComparison.Ordinal);
            Assert.Contains($":felix-from-{suffix} ", filter, StringComparison.Ordinal);
            Assert.Contains($"dev {workload.HostInterface}", await RoutesToAsync(host, workload.AddressOf(family)), StringComparison.Ordinal);
        }
        var sets = (await host.Namespace.ExecCheckedAsync("ipset", "list", "-n")).StandardOutput;
        Assert.Contains("felix-v4-db", sets, StringComparison.Ordinal);
        Assert.Contains("felix-v6-db", sets, StringComparison.Ordinal);
        // Interface sysctls went through the writable /proc/sys/net.
        Assert.Equal("1", await SysctlAsync(host, $"net/ipv4/conf/{workload.HostInterface}/proxy_arp"));
        Assert.Equal("1", await SysctlAsync(host, $"net/ipv6/conf/{workload.HostInterface}/proxy_ndp"));
        Assert.Equal("1", await SysctlAsync(host, "net/ipv4/ip_forward"));
        Assert.DoesNotContain(agent.StandardOutput, l => l.Contains("[ERROR]", StringComparison.Ordinal));

        await agent.SignalAsync("TERM");
        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task With_the_capability_bounding_set_emptied_the_same_agent_programs_nothing_and_never_becomes_ready()
    {
        await using var cluster = await Cluster.StartAsync(1);
        var host = cluster.Hosts[0];
        var workload = await cluster.AddDbEndpointAsync(host, "db1");
        using var sandbox = await UnitSandbox.FromUnitAsync(SystemdUnit.Load(SystemdUnit.FelixServicePath));
        sandbox.Spec = sandbox.Spec with { CapabilityBoundingSet = [] };

        var agent = await cluster.StartAgentAsync(host, new Dictionary<string, string>(), ["--config-file", "/dev/null"], sandbox.Launcher());
        await agent.WaitForLivenessAsync(ReadyTimeout);
        // In sync with etcd, it tries to apply and is refused: wait for the failure it reports.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!agent.StandardOutput.Any(IsRefusal) && clock.Elapsed < ReadyTimeout)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
        _output.WriteLine(string.Join('\n', agent.StandardOutput.Where(IsRefusal).Take(3)));

        Assert.Contains(agent.StandardOutput, IsRefusal);
        using var http = AgentProcess.CreateHttpClient(TimeSpan.FromSeconds(5));
        using var readiness = await http.GetAsync(new Uri($"http://127.0.0.1:{agent.HealthPort}/readiness"));
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, readiness.StatusCode);
        Assert.Equal(string.Empty, (await RoutesToAsync(host, workload.AddressOf(AddressFamily.InterNetwork))).Trim());
        Assert.DoesNotContain("felix-", (await host.Namespace.ExecCheckedAsync("ipset", "list", "-n")).StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(":felix-", (await host.Namespace.ExecCheckedAsync("iptables-nft-save", "-t", "filter")).StandardOutput, StringComparison.Ordinal);
        // Only the sysctls go through: /proc/sys/net is root's to write, no capability needed.

        static bool IsRefusal(string line) =>
            line.Contains("[WARNING]", StringComparison.Ordinal) || line.Contains("[ERROR]", StringComparison.Ordinal)
                ? line.Contains("not permitted", StringComparison.OrdinalIgnoreCase) || line.Contains("EPERM", StringComparison.Ordinal)
                : false;
    }

    [Fact]
    public async Task The_sandbox_refuses_what_the_unit_forbids_and_allows_what_it_grants()
    {
        await using var namespaces = new NetworkNamespaces();
        var host = await namespaces.CreateNamespaceAsync("probe");
        using var sandbox = await UnitSandbox.FromUnitAsync(SystemdUnit.Load(SystemdUnit.FelixServicePath));

        var result = await host.ExecAsync(TimeSpan.FromSeconds(20), [.. sandbox.Launcher(), UnitSandbox.PythonPath, "-I", "-c", ProbeScript]);

        _output.WriteLine($"{result.StandardOutput}{result.StandardError}");
        Assert.True(result.Succeeded, $"the probe failed: exit {result.ExitCode}\n{result.StandardError}");
        var outcomes = JsonSerializer.Deserialize<Dictionary<string, string>>(result.StandardOutput)!;
        Assert.Equal("EPERM", outcomes["setuid (SystemCallFilter=~@privileged)"]);
        Assert.Equal("EAFNOSUPPORT", outcomes["socket(AF_PACKET) (RestrictAddressFamilies)"]);
        Assert.Equal("ok", outcomes["socket(AF_NETLINK)"]);
        Assert.Equal("EPERM", outcomes["mmap(PROT_WRITE|PROT_EXEC) (MemoryDenyWriteExecute)"]);
        Assert.Equal("EPERM", outcomes["unshare(CLONE_NEWNET) (RestrictNamespaces)"]);
        Assert.Equal("EROFS", outcomes["write /etc (ProtectSystem=strict)"]);
        Assert.Equal("EROFS", outcomes["write /proc/sys/kernel (ProtectKernelTunables)"]);
        Assert.Equal("ok", outcomes["write /proc/sys/net (ReadWritePaths)"]);
        Assert.Equal("EACCES", outcomes["list /root (ProtectHome)"]);
        Assert.Equal("ok", outcomes["write /tmp (PrivateTmp)"]);
        Assert.Equal(UnitCapabilities, outcomes["CapBnd"]);
    }

    // Each probe prints its errno name, or "ok"; run as the agent would be, inside the sandbox.
    private const string ProbeScript = """
        import errno, json, mmap, os, socket
        def attempt(action):
            try:
                action()
                return "ok"
            except OSError as e:
                return errno.errorcode[e.errno]
        def write(path, text):
            with open(path, "w") as f:
                f.write(text)
        libc = __import__("ctypes").CDLL(None, use_errno=True)
        def unshare_net():
            if libc.unshare(0x40000000) != 0:
                raise OSError(__import__("ctypes").get_errno(), "unshare")
        results = {
            "setuid (SystemCallFilter=~@privileged)": attempt(lambda: os.setuid(0)),
            "socket(AF_PACKET) (RestrictAddressFamilies)": attempt(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()),
            "socket(AF_NETLINK)": attempt(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close()),
            "mmap(PROT_WRITE|PROT_EXEC) (MemoryDenyWriteExecute)": attempt(lambda: mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)),
            "unshare(CLONE_NEWNET) (RestrictNamespaces)": attempt(unshare_net),
            "write /etc (ProtectSystem=strict)": attempt(lambda: write("/etc/felix-sandbox-probe", "")),
            "write /proc/sys/kernel (ProtectKernelTunables)": attempt(lambda: write("/proc/sys/kernel/domainname", "x")),
            "write /proc/sys/net (ReadWritePaths)": attempt(lambda: write("/proc/sys/net/ipv4/ip_forward", "1")),
            "list /root (ProtectHome)": attempt(lambda: os.listdir("/root")),
            "write /tmp (PrivateTmp)": attempt(lambda: write("/tmp/probe", "")),
            "CapBnd": next(l.split()[1] for l in open("/proc/self/status") if l.startswith("CapBnd:")),
        }
        print(json.dumps(results))
        """;

    private static async Task<string> RoutesToAsync(ClusterHost host, System.Net.IPAddress address)
    {
        var (flag, length) = address.AddressFamily == AddressFamily.InterNetworkV6 ? ("-6", 128) : ("-4", 32);
        return (await host.Namespace.IpCheckedAsync(flag, "route", "show", "exact", $"{address}/{length}")).StandardOutput;
    }

    private static async Task<string> SysctlAsync(ClusterHost host, string path) =>
        (await host.Namespace.ExecCheckedAsync("cat", $"/proc/sys/{path}")).StandardOutput.Trim();
}
