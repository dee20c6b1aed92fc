using Felix.Dataplane.Routes;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>
/// The real <see cref="ProcSysctls"/> over a directory laid out like <c>/proc/sys</c>, and reading
/// (never writing) the machine's own <c>/proc/sys</c>. Writing the kernel's parameters is for the
/// integration tests, inside a network namespace.
/// </summary>
public sealed class ProcSysctlsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("felix-sysctls-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Reads_a_value_trimmed_and_writes_one_in_place()
    {
        var path = SysctlPath.For("cali1", InterfaceSysctl.ProxyArp);
        Directory.CreateDirectory(Path.Combine(_root, "net/ipv4/conf/cali1"));
        File.WriteAllText(Path.Combine(_root, path.Relative), "0\n");
        var sysctls = new ProcSysctls(_root);

        Assert.Equal(SysctlResult.Read("0"), sysctls.Read(path));
        Assert.Equal(SysctlResult.Done, sysctls.Write(path, 1));
        Assert.Equal("1\n", File.ReadAllText(Path.Combine(_root, path.Relative)));
        Assert.Equal(SysctlResult.Read("1"), sysctls.Read(path));
    }

    [Fact]
    public void A_missing_interface_is_missing_and_nothing_is_created()
    {
        var sysctls = new ProcSysctls(_root);
        Directory.CreateDirectory(Path.Combine(_root, "net/ipv4/conf/cali1"));

        Assert.Equal(SysctlOutcome.Missing, sysctls.Read(SysctlPath.For("cali2", InterfaceSysctl.RpFilter)).Outcome);
        Assert.Equal(SysctlOutcome.Missing, sysctls.Write(SysctlPath.For("cali2", InterfaceSysctl.RpFilter), 1).Outcome);
        Assert.Equal(SysctlOutcome.Missing, sysctls.Write(SysctlPath.For("cali1", InterfaceSysctl.RpFilter), 1).Outcome);
        Assert.False(Directory.Exists(Path.Combine(_root, "net/ipv4/conf/cali2")));
        Assert.Empty(Directory.GetFiles(Path.Combine(_root, "net/ipv4/conf/cali1")));
    }

    [Fact]
    public void A_refused_access_is_failed_with_the_reason()
    {
        var path = SysctlPath.Ipv4Forward;
        Directory.CreateDirectory(Path.Combine(_root, "net/ipv4"));
        // A directory where the file should be: the open itself fails, as a refused write would.
        Directory.CreateDirectory(Path.Combine(_root, path.Relative));
        var sysctls = new ProcSysctls(_root);

        var result = sysctls.Write(path, 1);

        Assert.Equal(SysctlOutcome.Failed, result.Outcome);
        Assert.False(string.IsNullOrEmpty(result.Error));
    }

    [Fact]
    public void Reads_the_kernel_parameters_of_its_own_namespace()
    {
        var sysctls = new ProcSysctls();

        var forward = sysctls.Read(SysctlPath.Ipv4Forward);
        var gone = sysctls.Read(SysctlPath.For("felixnotthere0", InterfaceSysctl.ProxyArp));

        Assert.Equal(SysctlOutcome.Ok, forward.Outcome);
        Assert.Contains(forward.Value, new[] { "0", "1" });
        Assert.Equal(SysctlOutcome.Missing, gone.Outcome);
    }
}
