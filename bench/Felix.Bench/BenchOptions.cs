using System.Globalization;

namespace Felix.Bench;

/// <summary>Command-line options; paths default to where the scripts build the agent.</summary>
internal sealed record BenchOptions(string Scenario, bool Quick, int Runs, string AotBinary, string JitAssembly)
{
    public static BenchOptions? Parse(string[] args)
    {
        var root = FindRepositoryRoot();
        var runs = 10;
        var scenario = "all";
        var quick = false;
        var aot = Path.Combine(root, "out", "felix", "felix");
        var jit = Path.Combine(root, "src", "Felix.Agent", "bin", "Release", "net10.0", "felix.dll");
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "startup" or "datastore" or "calc" or "render" or "iptables" or "ipsets" or "routes" or "e2e" or "all":
                    scenario = args[i];
                    break;
                case "--quick":
                    quick = true;
                    break;
                case "--runs" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out runs) && runs > 0:
                    i++;
                    break;
                case "--aot" when i + 1 < args.Length:
                    aot = args[++i];
                    break;
                case "--jit" when i + 1 < args.Length:
                    jit = args[++i];
                    break;
                default:
                    return null;
            }
        }
        return new BenchOptions(scenario, quick, runs, aot, jit);
    }

    private static string FindRepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Felix.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? Directory.GetCurrentDirectory();
    }
}
