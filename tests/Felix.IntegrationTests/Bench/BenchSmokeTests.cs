using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Bench;

/// <summary>
/// The bench's quick mode as CI's smoke run: every scenario at small sizes, against the published
/// agent, both iptables backends. No thresholds: the figures depend on the machine and its load;
/// what must hold is that the harness runs to the end and prints every scenario's result.
/// </summary>
public sealed class BenchSmokeTests
{
    // The end-to-end tables (bench/Felix.Bench/E2eReport.cs), one per scenario and backend.
    private static readonly string[] E2eScenarios =
    [
        "cold start → ready", "restart over programmed state → ready", "endpoint add", "endpoint remove",
        "tag member change", "profile rule change", "sustained churn", "route read-back (agent's metric)", "peak RSS (all scenarios)",
    ];

    // The first line each micro-benchmark prints.
    private static readonly string[] OtherScenarios = ["startup (", "datastore: ", "calc: ", "render: ", "iptables: ", "ipsets: ", "routes: "];

    // Quick mode takes about two minutes on an idle two-core machine; alongside the other tests, longer.
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(8);

    [Fact]
    public async Task Quick_mode_runs_every_scenario_on_both_backends_and_prints_its_table()
    {
        Require.Root();
        var bench = BenchDirectory();
        var result = await CommandRunner.RunAsync("dotnet",
            [Path.Combine(bench, "Felix.Bench.dll"), "all", "--quick", "--runs", "3", "--backend", "both",
             "--aot", AgentProcess.BinaryPath, "--jit", Path.Combine(bench, "felix.dll")], Timeout);

        var lines = result.StandardOutput.Split('\n');
        Assert.False(result.TimedOut, $"the bench did not finish within {Timeout.TotalMinutes:0} min:\n{result.StandardOutput}");
        Assert.True(result.ExitCode == 0, $"the bench exited with {result.ExitCode}:\n{result.StandardOutput}\n{result.StandardError}");
        foreach (var prefix in OtherScenarios)
        {
            Assert.Contains(lines, l => l.StartsWith(prefix, StringComparison.Ordinal));
        }
        foreach (var backend in (string[])["nft", "legacy"])
        {
            foreach (var scenario in E2eScenarios)
            {
                var heading = Array.IndexOf(lines, $"#### {scenario} ({backend})");
                Assert.True(heading >= 0, $"no table for {scenario} ({backend}):\n{result.StandardOutput}");
                // Heading, blank line, header, separator, then the quick mode's one size: its row.
                Assert.True(heading + 4 < lines.Length && lines[heading + 4].StartsWith("| 100 | ", StringComparison.Ordinal),
                    $"the table for {scenario} ({backend}) has no row for 100 endpoints:\n{result.StandardOutput}");
            }
        }
    }

    /// <summary>Where the bench was built alongside this project (the project reference builds it), in the same configuration.</summary>
    private static string BenchDirectory()
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var (framework, configuration) = (output.Name, output.Parent!.Name);
        var directory = Path.Combine(AgentProcess.RepositoryRoot(), "bench", "Felix.Bench", "bin", configuration, framework);
        return File.Exists(Path.Combine(directory, "Felix.Bench.dll"))
            ? directory
            : throw new InvalidOperationException($"the bench is not built in {directory}: run 'dotnet build Felix.sln -c {configuration}'");
    }
}
