using System.Runtime.CompilerServices;

namespace Felix.Agent.Tests.Policy;

/// <summary>
/// Compares rendered text with a file under <c>Policy/Golden</c>. With <c>FELIX_UPDATE_GOLDEN=1</c>
/// the file is (re)written in the source tree instead, to be reviewed in the diff like code. The
/// files are restore scripts, so the integration tests load the very same text into the kernel.
/// </summary>
internal static class Golden
{
    public static void Matches(string fileName, string actual, [CallerFilePath] string sourceFile = "")
    {
        if (Environment.GetEnvironmentVariable("FELIX_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(Path.Combine(Path.GetDirectoryName(sourceFile)!, "Golden", fileName), actual);
            return;
        }
        var path = Path.Combine(AppContext.BaseDirectory, "Policy", "Golden", fileName);
        Assert.True(File.Exists(path), $"{fileName} is missing: run the test with FELIX_UPDATE_GOLDEN=1, then review the file");
        var expected = File.ReadAllText(path).Split('\n');
        var lines = actual.Split('\n');
        for (var i = 0; i < Math.Max(expected.Length, lines.Length); i++)
        {
            var want = i < expected.Length ? expected[i] : "<end of file>";
            var got = i < lines.Length ? lines[i] : "<end of output>";
            Assert.True(want == got, $"{fileName} line {i + 1}:\n expected: {want}\n   actual: {got}\n\nwhole output:\n{actual}");
        }
    }
}
