using Felix.Fuzz;

namespace Felix.Agent.Tests.Fuzz;

/// <summary>
/// Every seed of fuzz/corpus and every fixed finding of fuzz/regressions, run once through its
/// fuzz target without AFL: a finding stays fixed, and a seed that fails would stop AFL before it
/// starts (it refuses a corpus with a crashing seed).
/// </summary>
public class FuzzReplayTests
{
    private static readonly string Inputs = Path.Combine(AppContext.BaseDirectory, "FuzzInputs");

    public static TheoryData<string, string> Cases()
    {
        var cases = new TheoryData<string, string>();
        foreach (var set in (string[])["corpus", "regressions"])
        {
            foreach (var target in FuzzTargets.All.Keys)
            {
                var directory = Path.Combine(Inputs, set, target);
                foreach (var file in Directory.Exists(directory) ? Directory.GetFiles(directory) : [])
                {
                    cases.Add(target, Path.GetRelativePath(Inputs, file));
                }
            }
        }
        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Input_passes_its_fuzz_target(string target, string input) =>
        FuzzTargets.All[target](File.ReadAllBytes(Path.Combine(Inputs, input)));

    [Fact]
    public void Every_target_has_seeds()
    {
        foreach (var target in FuzzTargets.All.Keys)
        {
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(Inputs, "corpus", target)));
        }
    }
}
