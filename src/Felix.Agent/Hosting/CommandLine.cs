using System.Reflection;
using System.Text;
using Felix.Agent.Hosting.Configuration;

namespace Felix.Agent.Hosting;

/// <summary>What the command line asked for.</summary>
public abstract record CommandLine
{
    private CommandLine()
    {
    }

    /// <summary>Run the agent.</summary>
    public sealed record Run(string? ConfigFile) : CommandLine;

    public sealed record ShowHelp : CommandLine;

    public sealed record ShowVersion : CommandLine;

    /// <summary>Print the commented config file (<see cref="ConfigTemplate"/>) and exit.</summary>
    public sealed record PrintConfig : CommandLine;

    /// <summary>The arguments make no sense; <paramref name="Message"/> says why.</summary>
    public sealed record Invalid(string Message) : CommandLine;

    public static string Version { get; } =
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? "unknown";

    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        string? configFile = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            switch (arg)
            {
                case "-h" or "--help":
                    return new ShowHelp();
                case "-V" or "--version":
                    return new ShowVersion();
                case "--print-config":
                    return new PrintConfig();
                case "-c" or "--config-file":
                    if (i + 1 >= args.Count || args[i + 1].Length == 0)
                    {
                        return new Invalid($"{arg} needs a path");
                    }
                    configFile = args[++i];
                    break;
                default:
                    if (arg.StartsWith("--config-file=", StringComparison.Ordinal) && arg.Length > "--config-file=".Length)
                    {
                        configFile = arg["--config-file=".Length..];
                        break;
                    }
                    return new Invalid($"unknown argument '{arg}'");
            }
        }
        return new Run(configFile);
    }

    public static string HelpText()
    {
        var text = new StringBuilder();
        text.Append($"""
            felix {Version}: the per-host dataplane agent of a Calico-style network. It watches etcd for
            this host's workload endpoints and the cluster's profiles and programs routes, iptables
            chains and ipsets to match.

            Usage: felix [--config-file PATH]

            Options:
              -c, --config-file PATH  read parameters from PATH (default {ConfigLoader.DefaultConfigFile};
                                      a missing default file is fine, a missing named file is an error)
              --print-config          print a config file listing every parameter, commented out,
                                      with its default (the template of {ConfigLoader.DefaultConfigFile}), and exit
              -V, --version           print the version and exit
              -h, --help              print this help and exit

            Parameters come from, first match wins: the environment (FELIX_<NAME>, any case), the config
            file (Name = value lines, sections ignored), the datastore (per host, then global), the default.

            """);
        var width = ConfigParameters.All.Max(p => p.Name.Length);
        foreach (var parameter in ConfigParameters.All)
        {
            text.Append("  ").Append(parameter.Name.PadRight(width)).Append("  ").Append(parameter.Description)
                .Append(" [default: ").Append(parameter.DefaultText).Append("]\n");
        }
        return text.ToString();
    }
}
