using System.Globalization;
using System.Text.RegularExpressions;
using Felix.IntegrationTests.Fixtures;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.Packaging;

/// <summary>
/// packaging/systemd/felix.service and felix.tmpfiles as systemd's own tools judge them, without
/// installing anything: each runs against a scratch root directory.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class UnitFileTests
{
    /// <summary>The exposure the unit must stay at or below (an unhardened unit scores 9.6).</summary>
    private const double MaxExposure = 2.5;

    private readonly ITestOutputHelper _output;

    public UnitFileTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public async Task Systemd_analyze_verify_accepts_the_unit_without_a_single_complaint()
    {
        // `verify --root` looks for the unit, its dependencies (sysinit.target, …) and ExecStart's
        // program under the root: the host's units, this unit as the package installs it, and an
        // executable at /usr/bin/felix (verify checks only that it is one).
        var root = Directory.CreateTempSubdirectory("felix-verify-").FullName;
        try
        {
            var units = Path.Combine(root, "usr", "lib", "systemd", "system");
            Directory.CreateDirectory(units);
            foreach (var unit in Directory.EnumerateFiles("/usr/lib/systemd/system"))
            {
                File.Copy(unit, Path.Combine(units, Path.GetFileName(unit)));
            }
            File.Copy(SystemdUnit.FelixServicePath, Path.Combine(units, "felix.service"));
            var program = Path.Combine(root, "usr", "bin", "felix");
            Directory.CreateDirectory(Path.GetDirectoryName(program)!);
            await File.WriteAllTextAsync(program, "#!/bin/sh\n");
            File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

            // --man=no: felix(8) comes with the package; DebianPackageTests verifies the installed
            // unit with its man page.
            var result = await CommandRunner.RunAsync(Require.Executable("systemd-analyze", "systemd"), ["verify", "--man=no", $"--root={root}", "felix.service"]);

            _output.WriteLine($"{result.CommandLine}: exit {result.ExitCode}\n{result.StandardOutput}{result.StandardError}");
            Assert.Equal(0, result.ExitCode);
            // A misspelt directive or a bad value is only a warning to verify, and still exit 0.
            Assert.Equal(string.Empty, (result.StandardOutput + result.StandardError).Trim());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Systemd_analyze_security_rates_the_unit_at_most_2_5()
    {
        var result = await CommandRunner.RunCheckedAsync(Require.Executable("systemd-analyze", "systemd"),
            ["security", "--offline=yes", "--no-pager", SystemdUnit.FelixServicePath]);
        _output.WriteLine(result.StandardOutput);

        var match = ExposureLine().Match(result.StandardOutput);
        Assert.True(match.Success, $"no overall exposure line in:\n{result.StandardOutput}");
        var exposure = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        _output.WriteLine($"exposure {exposure} (at most {MaxExposure})");
        Assert.InRange(exposure, 0, MaxExposure);
    }

    [Fact]
    public async Task The_tmpfiles_snippet_creates_the_xtables_lock_the_unit_makes_writable()
    {
        var root = Directory.CreateTempSubdirectory("felix-tmpfiles-").FullName;
        try
        {
            var snippets = Path.Combine(root, "usr", "lib", "tmpfiles.d");
            Directory.CreateDirectory(snippets);
            Directory.CreateDirectory(Path.Combine(root, "run"));
            File.Copy(SystemdUnit.FelixTmpfilesPath, Path.Combine(snippets, "felix.conf"));

            await CommandRunner.RunCheckedAsync(Require.Executable("systemd-tmpfiles", "systemd"), [$"--root={root}", "--create", "felix.conf"]);

            var unit = SystemdUnit.Load(SystemdUnit.FelixServicePath);
            Assert.Contains("/run/xtables.lock", unit.Words("Service", "ReadWritePaths"));
            var lockFile = Path.Combine(root, "run", "xtables.lock");
            Assert.True(File.Exists(lockFile), "systemd-tmpfiles did not create /run/xtables.lock");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(lockFile));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task The_sandbox_is_derived_from_the_unit_and_refuses_a_directive_it_does_not_know()
    {
        using var sandbox = await UnitSandbox.FromUnitAsync(SystemdUnit.Load(SystemdUnit.FelixServicePath));
        var spec = sandbox.Spec;

        Assert.Equal(["CAP_NET_ADMIN", "CAP_NET_RAW"], spec.CapabilityBoundingSet);
        Assert.Equal(["AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"], spec.AddressFamilies);
        var syscalls = Assert.IsType<SyscallAllowList>(spec.SyscallFilter);
        // @system-service in, ~@privileged out, @default implied.
        Assert.Contains("socket", syscalls.Allow);
        Assert.Contains("exit_group", syscalls.Allow);
        Assert.DoesNotContain("setuid", syscalls.Allow);
        Assert.DoesNotContain("mount", syscalls.Allow);
        Assert.Contains("/proc/sys/net", spec.ReadWrite);

        var extended = SystemdUnit.Parse(await File.ReadAllTextAsync(SystemdUnit.FelixServicePath) + "\n[Service]\nBindPaths=/srv\n");
        var refusal = await Assert.ThrowsAsync<NotSupportedException>(() => UnitSandbox.FromUnitAsync(extended));
        Assert.Contains("BindPaths", refusal.Message, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"Overall exposure level for \S+: (\d+\.\d+)")]
    private static partial Regex ExposureLine();
}
