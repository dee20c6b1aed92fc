using System.Globalization;

namespace Felix.Bench;

/// <summary>
/// Command-line options; paths default to where the scripts build the agent. The end-to-end
/// scenario's backends (<c>--backend nft|legacy|both</c>) and its sizes, which override the quick
/// or full mode's (<see cref="E2eSettings"/>): <c>--sizes 100,1000</c> (local endpoints),
/// <c>--cluster M</c>, <c>--profiles P</c>, <c>--samples N</c>, <c>--churn-seconds S</c>.
/// </summary>
internal sealed record BenchOptions(string Scenario, bool Quick, int Runs, string AotBinary, string JitAssembly, string[] Backends, string[] E2eOverrides)
{
    public E2eSettings E2e(string backend)
    {
        var settings = Quick ? E2eSettings.Quick(backend) : E2eSettings.Full(backend);
        for (var i = 0; i + 1 < E2eOverrides.Length; i += 2)
        {
            var value = E2eOverrides[i + 1];
            settings = E2eOverrides[i] switch
            {
                "--sizes" => settings with { Sizes = [.. value.Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture))] },
                "--cluster" => settings with { Cluster = int.Parse(value, CultureInfo.InvariantCulture) },
                "--profiles" => settings with { Profiles = int.Parse(value, CultureInfo.InvariantCulture) },
                "--samples" => settings with { Samples = int.Parse(value, CultureInfo.InvariantCulture) },
                _ => settings with { ChurnSeconds = int.Parse(value, CultureInfo.InvariantCulture) },
            };
        }
        return settings;
    }

    public static BenchOptions? Parse(string[] args)
    {
        var root = FindRepositoryRoot();
        var runs = 10;
        var scenario = "all";
        var quick = false;
        var aot = Path.Combine(root, "out", "felix", "felix");
        var jit = Path.Combine(root, "src", "Felix.Agent", "bin", "Release", "net10.0", "felix.dll");
        string[] backends = ["nft", "legacy"];
        var overrides = new List<string>();
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
                case "--backend" when i + 1 < args.Length && args[i + 1] is "nft" or "legacy" or "both":
                    backends = args[++i] == "both" ? ["nft", "legacy"] : [args[i]];
                    break;
                case "--sizes" when i + 1 < args.Length && args[i + 1].Split(',').All(v => int.TryParse(v, CultureInfo.InvariantCulture, out var n) && n > 0):
                case "--cluster" or "--profiles" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var n) && n >= 0:
                case "--samples" or "--churn-seconds" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var m) && m > 0:
                    overrides.AddRange([args[i], args[++i]]);
                    break;
                default:
                    return null;
            }
        }
        return new BenchOptions(scenario, quick, runs, aot, jit, backends, [.. overrides]);
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
