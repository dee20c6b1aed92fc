using Felix.Dataplane;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Policy;

/// <summary>
/// Every golden file of the renderer's unit tests (<c>tests/Felix.Agent.Tests/Policy/Golden</c>,
/// copied next to this assembly under <c>PolicyGolden/</c>) is loaded on both backends with its
/// family's tool: the unit tests pin what the renderer writes, these prove the kernel takes it.
/// The files are listed when the tests are discovered, so a new golden file is loaded without
/// any change here.
/// </summary>
public sealed class GoldenLoadTests
{
    public static string GoldenFolder => Path.Combine(AppContext.BaseDirectory, "PolicyGolden");

    public static TheoryData<string, IptablesBackend> GoldenFiles()
    {
        var data = new TheoryData<string, IptablesBackend>();
        foreach (var file in ListGoldenFiles())
        {
            foreach (var backend in RestoreLoader.Backends)
            {
                data.Add(file, backend);
            }
        }
        return data;
    }

    /// <summary>Guards the theory below, which would otherwise have nothing to load and prove nothing.</summary>
    [Fact]
    public void Golden_folder_holds_rules_files_of_both_families()
    {
        var files = ListGoldenFiles();

        Assert.True(files.Count > 0, $"no *.rules files in {GoldenFolder}: the csproj links them from tests/Felix.Agent.Tests/Policy/Golden");
        Assert.Contains(files, file => file.EndsWith(".v4.rules", StringComparison.Ordinal));
        Assert.Contains(files, file => file.EndsWith(".v6.rules", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(GoldenFiles))]
    public async Task Golden_file_loads_on_the_backend(string file, IptablesBackend backend)
    {
        var version = file.EndsWith(".v6.rules", StringComparison.Ordinal) ? IpVersion.V6
            : file.EndsWith(".v4.rules", StringComparison.Ordinal) ? IpVersion.V4
            : throw new ArgumentException($"{file}: a golden file is named *.v4.rules or *.v6.rules", nameof(file));
        var script = await File.ReadAllTextAsync(Path.Combine(GoldenFolder, file));
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("golden");
        var context = $"golden file {file}, {RestoreLoader.BackendName(backend)}";

        Assert.Contains("COMMIT", script, StringComparison.Ordinal);
        await RestoreLoader.AssertLoadsAsync(netns, script, backend, version, LoadMode.Test, context);
        await RestoreLoader.AssertLoadsAsync(netns, script, backend, version, LoadMode.Commit, context);
    }

    private static List<string> ListGoldenFiles() =>
        Directory.Exists(GoldenFolder)
            ? [.. Directory.EnumerateFiles(GoldenFolder, "*.rules").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : [];
}
