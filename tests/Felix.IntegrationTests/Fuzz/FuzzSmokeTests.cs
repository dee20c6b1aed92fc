using System.Globalization;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Fuzz;

/// <summary>One collection, so the two targets take turns: each keeps AFL busy on a core for its whole budget.</summary>
[CollectionDefinition(Name)]
public sealed class FuzzRuns
{
    public const string Name = "fuzzing";
}

/// <summary>
/// CI's short fuzzing run: each target of fuzz/Felix.Fuzz under AFL++ for a fixed 30 s budget
/// (scripts/fuzz.sh), with the harness this project's build made. Passes only when AFL found no
/// crash and no hang and demonstrably fuzzed: executions past calibration, and new corpus entries
/// past the seeds, which only coverage from the instrumented code can give, so a harness that
/// never ran, or ran without instrumentation, cannot pass.
/// docs/RELIABILITY.md describes the long run.
/// </summary>
[Collection(FuzzRuns.Name)]
public sealed class FuzzSmokeTests
{
    private const int Seconds = 30;

    // Building the instrumented copy, AFL's calibration of the seeds and its own start-up come on top.
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(Seconds + 240);

    [Theory]
    [InlineData("model")]
    [InlineData("netlink")]
    public async Task Afl_finds_no_crash_or_hang_in_a_short_run(string target)
    {
        Require.Root();
        var output = Directory.CreateTempSubdirectory($"felix-fuzz-{target}-");
        try
        {
            var script = Path.Combine(AgentProcess.RepositoryRoot(), "scripts", "fuzz.sh");
            var result = await CommandRunner.RunAsync(script,
                [target, "--seconds", Seconds.ToString(CultureInfo.InvariantCulture), "--output", output.FullName, "--harness", HarnessDirectory()],
                Timeout);

            Assert.False(result.TimedOut, $"scripts/fuzz.sh did not finish within {Timeout.TotalSeconds:0} s:\n{result.StandardOutput}\n{result.StandardError}");
            Assert.True(result.ExitCode == 0, $"scripts/fuzz.sh exited with {result.ExitCode}:\n{result.StandardOutput}\n{result.StandardError}");
            var stats = ReadStats(Path.Combine(output.FullName, "findings", "default", "fuzzer_stats"));
            var seeds = Directory.GetFiles(Path.Combine(output.FullName, "seeds")).Length;
            Assert.Equal(0, stats["saved_crashes"]);
            Assert.Equal(0, stats["saved_hangs"]);
            // A floor, not a speed target: a 30 s run made 70,000 to 250,000 executions on a lightly loaded
            // two-core machine and under 3,000 at a load average of 60. New corpus entries are the proof of fuzzing.
            Assert.True(stats["execs_done"] > 500, $"AFL ran only {stats["execs_done"]} executions:\n{result.StandardOutput}");
            Assert.True(stats["corpus_found"] > 0 && stats["corpus_count"] > seeds,
                $"AFL found no new path past the {seeds} seeds (corpus {stats["corpus_count"]}): the coverage map is not fed\n{result.StandardOutput}");
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    /// <summary>AFL's numbers: the integer lines of <c>fuzzer_stats</c> ("name : value").</summary>
    private static Dictionary<string, long> ReadStats(string path)
    {
        Assert.True(File.Exists(path), $"AFL wrote no {path}");
        var stats = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(path))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && long.TryParse(line[(colon + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                stats[line[..colon].Trim()] = value;
            }
        }
        return stats;
    }

    /// <summary>Where the harness was built alongside this project (the project reference builds it), in the same configuration.</summary>
    private static string HarnessDirectory()
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var (framework, configuration) = (output.Name, output.Parent!.Name);
        var directory = Path.Combine(AgentProcess.RepositoryRoot(), "fuzz", "Felix.Fuzz", "bin", configuration, framework);
        return File.Exists(Path.Combine(directory, "Felix.Fuzz.dll"))
            ? directory
            : throw new InvalidOperationException($"the fuzz harness is not built in {directory}: run 'dotnet build Felix.sln -c {configuration}'");
    }
}
