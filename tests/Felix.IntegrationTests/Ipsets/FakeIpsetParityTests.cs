using System.Text;
using System.Text.RegularExpressions;
using Felix.Dataplane.Exec;
using Felix.Dataplane.Tests.Fakes;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Ipsets;

/// <summary>
/// Keeps the unit tests' <see cref="FakeIpset"/> honest: every scenario runs step by step against the
/// fake and against the real <c>ipset</c> in a fresh network namespace, and after every step both
/// must agree on exit code, stderr (line numbers included) and output, and then on what
/// <c>ipset save</c> and <c>ipset list -terse</c> show. Only what the kernel makes random is masked:
/// the hash seed, the memory estimate, and the order of a hash set's members.
/// </summary>
public sealed partial class FakeIpsetParityTests
{
    private readonly string _ipset = Require.Executable("ipset", "ipset");

    public FakeIpsetParityTests()
    {
        Require.Root();
    }

    // Built on first use: static fields of the other files of this class are not yet set while this one's initialiser runs.
    private static Dictionary<string, Step[]> AllScenarios => field ??= new(Scenarios.Concat(RandomScenarios()), StringComparer.Ordinal);

    public static TheoryData<string> ScenarioNames => [.. AllScenarios.Keys];

    [Theory]
    [MemberData(nameof(ScenarioNames))]
    public async Task Fake_and_real_ipset_agree_on_every_step(string scenario)
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("ipset");
        var fake = new FakeIpset();
        var mismatches = new StringBuilder();
        var number = 0;

        foreach (var step in AllScenarios[scenario].Append(Save).Append(Terse))
        {
            number++;
            var real = step.Input is null
                ? await netns.ExecAsync([_ipset, .. step.Arguments])
                : await netns.ExecWithInputAsync(step.Input, [_ipset, .. step.Arguments]);
            var faked = await fake.RunAsync(new Command("ipset", step.Arguments, step.Input, TimeSpan.FromSeconds(10)), CancellationToken.None);

            Assert.False(real.TimedOut, $"step {number} of {scenario} timed out");
            Compare(mismatches, number, step, "exit code", real.ExitCode.ToString(Culture), faked.ExitCode.ToString(Culture));
            Compare(mismatches, number, step, "stderr", real.StandardError, faked.StandardError);
            Compare(mismatches, number, step, "stdout", Normalise(real.StandardOutput), Normalise(faked.StandardOutput));
        }

        Assert.True(mismatches.Length == 0, $"The fake differs from ipset in scenario {scenario}:\n{mismatches}");
    }

    private static readonly IFormatProvider Culture = System.Globalization.CultureInfo.InvariantCulture;

    private static Step Save => new(["save"], null);

    private static Step Terse => new(["list", "-terse"], null);

    private static void Compare(StringBuilder mismatches, int number, Step step, string what, string real, string fake)
    {
        if (real != fake)
        {
            mismatches.Append(Culture, $"step {number} `ipset {string.Join(' ', step.Arguments)}`{(step.Input is null ? "" : $" <<<{Excerpt(step.Input)}")}: ")
                .Append(Culture, $"{what} differs\n  real: {Quote(real)}\n  fake: {Quote(fake)}\n");
        }
    }

    private static string Excerpt(string input) => Quote(input.Length > 300 ? input[..300] + "…" : input);

    private static string Quote(string text) => "\"" + text.Replace("\n", "\\n", StringComparison.Ordinal) + "\"";

    /// <summary>
    /// Masks the hash seed and memory estimate and sorts each hash set's members (save's add lines,
    /// list's member lines); list:set members keep their order, which both keep.
    /// </summary>
    private static string Normalise(string output)
    {
        var masked = Seed().Replace(Memory().Replace(output, "Size in memory: *"), "initval *");
        var lines = masked.Split('\n');
        var result = new List<string>();
        var run = new List<string>();
        var sortRun = false;
        var inMembers = false;
        foreach (var line in lines)
        {
            var isMember = line.StartsWith("add ", StringComparison.Ordinal) || (inMembers && line.Length > 0);
            if (!isMember)
            {
                Flush();
                inMembers = line == "Members:";
                sortRun = line.StartsWith("create ", StringComparison.Ordinal) ? !line.Contains(" list:set ", StringComparison.Ordinal)
                    : line.StartsWith("Type: ", StringComparison.Ordinal) ? line != "Type: list:set"
                    : sortRun;
                result.Add(line);
                continue;
            }
            run.Add(line);
        }
        Flush();
        return string.Join('\n', result);

        void Flush()
        {
            result.AddRange(sortRun ? run.Order(StringComparer.Ordinal) : run);
            run.Clear();
        }
    }

    [GeneratedRegex("initval 0x[0-9a-f]{8}")]
    private static partial Regex Seed();

    [GeneratedRegex(@"Size in memory: \d+")]
    private static partial Regex Memory();

    /// <summary>One run of the tool: its arguments and, for restore, its stdin.</summary>
    private sealed record Step(string[] Arguments, string? Input)
    {
        public override string ToString() => string.Join(' ', Arguments);
    }
}
