namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// The Debian package as <c>packaging/deb/build.sh</c> builds it from the published agent
/// (<see cref="AgentProcess.BinaryPath"/>), into a temporary directory. <see cref="GetAsync"/> builds
/// it once per test run and hands every caller the same package; <see cref="BuildAsync"/> builds
/// another one, under another version, for upgrade tests.
/// </summary>
public sealed class DebianPackage
{
    // Publishing is not part of it (--binary): packaging alone takes seconds, the bound is for a
    // loaded machine.
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(3);

    private static readonly Lazy<Task<DebianPackage>> Shared = new(() => BuildAsync(version: null));

    private DebianPackage(string path, string version, string directory)
    {
        Path = path;
        Version = version;
        Directory = directory;
    }

    /// <summary>The <c>.deb</c> file.</summary>
    public string Path { get; }

    /// <summary>Its Debian version, e.g. <c>0.1.0-1</c>.</summary>
    public string Version { get; }

    /// <summary>The temporary directory holding it, deleted when the test run ends.</summary>
    public string Directory { get; }

    public static string BuildScript => System.IO.Path.Combine(AgentProcess.RepositoryRoot(), "packaging", "deb", "build.sh");

    /// <summary>The package of this test run, built on first use.</summary>
    public static Task<DebianPackage> GetAsync() => Shared.Value;

    /// <param name="version">The Debian version; <c>null</c> for the script's default.</param>
    public static async Task<DebianPackage> BuildAsync(string? version)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("felix-deb-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteQuietly(directory);
        List<string> arguments = ["--binary", AgentProcess.BinaryPath, "--output", directory];
        if (version is not null)
        {
            arguments.AddRange(["--version", version]);
        }
        var build = await CommandRunner.RunCheckedAsync(BuildScript, arguments, BuildTimeout);
        var path = build.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
        if (!File.Exists(path) || !path.StartsWith(directory, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{BuildScript} did not end with the path of a package in {directory}:\n{build.StandardOutput}");
        }
        var field = await CommandRunner.RunCheckedAsync("dpkg-deb", ["--field", path, "Version"]);
        return new DebianPackage(path, field.StandardOutput.Trim(), directory);
    }

    /// <summary>Unpacks the package's files (as <c>dpkg-deb -x</c>) into a new directory, deleted when the test run ends, and returns it.</summary>
    public async Task<string> ExtractAsync()
    {
        var root = System.IO.Directory.CreateTempSubdirectory("felix-deb-files-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteQuietly(root);
        await CommandRunner.RunCheckedAsync("dpkg-deb", ["-x", Path, root]);
        return root;
    }

    /// <summary>A control field of the package (<c>Depends</c>, <c>Installed-Size</c>, …).</summary>
    public async Task<string> FieldAsync(string name) =>
        (await CommandRunner.RunCheckedAsync("dpkg-deb", ["--field", Path, name])).StandardOutput.Trim();

    private static void DeleteQuietly(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
