using Felix.IntegrationTests.Fixtures;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.Packaging;

/// <summary>Tests that install packages on this machine run alone: nothing else sees apt at work.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackageInstalls
{
    public const string Name = "Debian package installs";
}

/// <summary>
/// The Debian package as an operator meets it: lintian's verdict, <c>apt install</c>, the unit,
/// the conffile, remove, purge and upgrade. These install onto this machine (as root) and always
/// purge again; see <see cref="PackageInstallation"/> for when they refuse to.
/// </summary>
[Collection(PackageInstalls.Name)]
public sealed class DebianPackageTests(ITestOutputHelper output)
{
    private const string ConfigFile = "/etc/felix/felix.cfg";
    private const string Unit = "/lib/systemd/system/felix.service";

    // Where a package leaves files; the caches and logs apt and man-db keep are not the package's.
    private static readonly string[] SnapshotRoots = ["/etc", "/usr", "/var/lib/systemd", "/var/lib/felix", "/opt"];

    [Fact]
    public async Task Lintian_finds_no_error_or_warning()
    {
        var package = await DebianPackage.GetAsync();
        Require.Executable("lintian", "lintian");

        var lintian = await CommandRunner.RunAsync("lintian", ["--fail-on", "error,warning", "--display-info", package.Path],
            TimeSpan.FromMinutes(3));

        output.WriteLine($"$ {lintian.CommandLine}\n{lintian.StandardOutput}{lintian.StandardError}");
        Assert.False(lintian.TimedOut, "lintian did not finish");
        var lines = lintian.StandardOutput.Split('\n');
        Assert.DoesNotContain(lines, l => l.StartsWith("E: ", StringComparison.Ordinal) || l.StartsWith("W: ", StringComparison.Ordinal));
        Assert.Equal(0, lintian.ExitCode);
    }

    [Fact]
    public async Task The_package_holds_the_agent_its_unit_conffile_and_documentation_and_depends_on_its_tools()
    {
        var package = await DebianPackage.GetAsync();

        var contents = (await CommandRunner.RunCheckedAsync("dpkg-deb", ["--contents", package.Path])).StandardOutput;
        var depends = await package.FieldAsync("Depends");
        var version = (await CommandRunner.RunCheckedAsync(AgentProcess.BinaryPath, ["--version"])).StandardOutput;

        output.WriteLine($"{contents}\nDepends: {depends}");
        foreach (var path in new[]
                 {
                     "./usr/bin/felix", "." + Unit, "." + ConfigFile, "./usr/share/doc/felix/copyright",
                     "./usr/share/doc/felix/changelog.Debian.gz", "./usr/share/man/man8/felix.8.gz",
                     "./usr/share/lintian/overrides/felix",
                 })
        {
            Assert.Contains($" {path}\n", contents, StringComparison.Ordinal);
        }
        foreach (var dependency in new[] { "libc6 (>= ", "libssl3", "iptables", "ipset", "iproute2", "conntrack" })
        {
            Assert.Contains(dependency, depends, StringComparison.Ordinal);
        }
        // The Debian version is the agent's own, with a Debian revision.
        Assert.StartsWith($"felix {package.Version.Split('-')[0]}+", version, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Installs_with_apt_keeps_its_config_on_remove_and_leaves_nothing_behind_on_purge()
    {
        var package = await DebianPackage.GetAsync();
        await InstallDependenciesAsync(package);
        var before = await SnapshotAsync();

        await using (var installation = await PackageInstallation.InstallAsync(package))
        {
            var version = await CommandRunner.RunCheckedAsync("/usr/bin/felix", ["--version"]);
            Assert.StartsWith("felix ", version.StandardOutput, StringComparison.Ordinal);
            Assert.Equal(
                (await CommandRunner.RunCheckedAsync("/usr/bin/felix", ["--print-config"])).StandardOutput,
                await File.ReadAllTextAsync(ConfigFile));
            Assert.Matches($@"^{ConfigFile} [0-9a-f]{{32}}$", (await PackageInstallation.FieldAsync("Conffiles")).Trim());
            // Installed, not enabled: the operator enables it once EtcdEndpoints is set.
            Assert.False(File.Exists("/etc/systemd/system/multi-user.target.wants/felix.service"));
            Assert.True(File.Exists("/usr/share/man/man8/felix.8.gz"));

            var verify = await CommandRunner.RunAsync(Require.Executable("systemd-analyze", "systemd"), ["verify", Unit]);
            output.WriteLine($"$ {verify.CommandLine}\n{verify.StandardOutput}{verify.StandardError}");
            Assert.True(verify.Succeeded, $"systemd-analyze verify failed:\n{verify.StandardError}");

            var security = await CommandRunner.RunCheckedAsync("systemd-analyze", ["security", "--offline=yes", Unit]);
            var exposure = security.StandardOutput.Split('\n').Single(l => l.Contains("Overall exposure level", StringComparison.Ordinal));
            output.WriteLine(exposure);

            await installation.RemoveAsync();
            Assert.Equal("rc", await PackageInstallation.StatusAsync());
            Assert.False(File.Exists("/usr/bin/felix"));
            Assert.True(File.Exists(ConfigFile), $"{ConfigFile} must survive a remove");

            await installation.PurgeAsync();
            Assert.Null(await PackageInstallation.StatusAsync());
        }

        var after = await SnapshotAsync();
        Assert.Empty(after.Except(before));
        Assert.Empty(before.Except(after));
    }

    [Fact]
    public async Task An_upgrade_keeps_a_modified_conffile_without_asking()
    {
        var package = await DebianPackage.GetAsync();
        var revision = int.Parse(package.Version.Split('-')[^1], System.Globalization.CultureInfo.InvariantCulture);
        var upgrade = await DebianPackage.BuildAsync($"{package.Version.Split('-')[0]}-{revision + 1}");
        await InstallDependenciesAsync(package);

        await using var installation = await PackageInstallation.InstallAsync(package);
        var modified = await File.ReadAllTextAsync(ConfigFile) + "EtcdEndpoints = http://192.0.2.1:2379\n";
        await File.WriteAllTextAsync(ConfigFile, modified);

        // Standard input is closed: a conffile question would fail the upgrade.
        await installation.InstallOverAsync(upgrade);

        Assert.Equal(upgrade.Version, await PackageInstallation.FieldAsync("Version"));
        Assert.Equal(modified, await File.ReadAllTextAsync(ConfigFile));
        Assert.Empty(Directory.GetFiles("/etc/felix", "felix.cfg.dpkg-*"));
    }

    /// <summary>
    /// What the package depends on is installed before the snapshot, so that the comparison after a
    /// purge sees the package's own files only (apt keeps dependencies it installed).
    /// </summary>
    private static async Task InstallDependenciesAsync(DebianPackage package)
    {
        var names = (await package.FieldAsync("Depends")).Split(',')
            .Select(d => d.Split('(', '|')[0].Trim())
            .Where(n => n.Length > 0);
        await CommandRunner.RunCheckedAsync("env",
            ["DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--no-install-recommends", .. names],
            TimeSpan.FromMinutes(5));
    }

    private static async Task<HashSet<string>> SnapshotAsync()
    {
        var roots = SnapshotRoots.Where(Directory.Exists).ToList();
        var find = await CommandRunner.RunCheckedAsync("find", [.. roots, "-xdev"], TimeSpan.FromMinutes(2));
        return [.. find.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }
}
