using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Felix.Dataplane;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Policy;

/// <summary>The two implementations of the iptables commands a host may use.</summary>
public enum IptablesBackend
{
    Legacy,
    Nft,
}

/// <summary>How far a load goes.</summary>
public enum LoadMode
{
    /// <summary>
    /// <c>--test</c>: the tool parses every line and checks its matches and targets, then commits
    /// nothing. Cheap, but the kernel never sees the rules: neither backend checks what only the
    /// kernel does (a target in a table or hook it does not belong to, a loop), and nft does not
    /// even check that a jump's target chain exists.
    /// </summary>
    Test,

    /// <summary>A real load: the kernel checks every rule, and the chains stay in the namespace.</summary>
    Commit,
}

/// <summary>
/// Loads restore scripts into a namespace the test owns, with the tool of one backend and family,
/// after creating the ipsets the script refers to there. Failures carry the tool's stderr, the
/// lines it blamed and the numbered script, since a bare "exit 2" says nothing about which rule
/// the kernel refused.
/// </summary>
public static partial class RestoreLoader
{
    public static readonly IReadOnlyList<IptablesBackend> Backends = [IptablesBackend.Legacy, IptablesBackend.Nft];

    public static readonly IReadOnlyList<IpVersion> Families = [IpVersion.V4, IpVersion.V6];

    /// <summary>Every backend with every family, for the theories that must hold on each.</summary>
    public static TheoryData<IptablesBackend, IpVersion> BackendsAndFamilies()
    {
        var data = new TheoryData<IptablesBackend, IpVersion>();
        foreach (var backend in Backends)
        {
            foreach (var version in Families)
            {
                data.Add(backend, version);
            }
        }
        return data;
    }

    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The tool's full path, or a failure naming the package to install. Never a skip: on a host
    /// without a backend the load tests would otherwise pass having loaded nothing.
    /// </summary>
    public static string RestoreTool(IptablesBackend backend, IpVersion version) =>
        Require.Executable($"{Command(version)}-{BackendName(backend)}-restore", "iptables");

    public static string SaveTool(IptablesBackend backend, IpVersion version) =>
        Require.Executable($"{Command(version)}-{BackendName(backend)}-save", "iptables");

    public static string BackendName(IptablesBackend backend) => backend == IptablesBackend.Nft ? "nft" : "legacy";

    /// <summary>Every set a script matches on (<c>--match-set NAME</c>), each once, in order of appearance.</summary>
    public static IReadOnlyList<string> ReferencedSets(string script) =>
        [.. MatchSet().Matches(script).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal)];

    /// <summary>
    /// The <c>ipset create</c> arguments the agent would use for <paramref name="name"/>. The family
    /// comes from the name, not from the script being loaded, so a v4 set referenced from an
    /// ip6tables rule is refused as the kernel would refuse it on a real host.
    /// </summary>
    public static string SetDefinition(string name) => name switch
    {
        "felix-all-ipam-pools" or "felix-masq-ipam-pools" => $"{name} hash:net family inet",
        "felix-all-ipam-pools-v6" or "felix-masq-ipam-pools-v6" => $"{name} hash:net family inet6",
        _ when name.StartsWith("felix-v4-", StringComparison.Ordinal) => $"{name} hash:ip family inet",
        _ when name.StartsWith("felix-v6-", StringComparison.Ordinal) => $"{name} hash:ip family inet6",
        _ => throw new ArgumentException($"'{name}' is not the name of any set the agent creates (DESIGN.md §3)", nameof(name)),
    };

    /// <summary>Creates the sets (one <c>ipset restore</c>); sets that already exist are left alone.</summary>
    public static async Task CreateSetsAsync(NetNs netns, IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(netns);
        var input = new StringBuilder();
        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            input.Append("create ").Append(SetDefinition(name)).Append('\n');
        }
        if (input.Length == 0)
        {
            return;
        }
        var ipset = Require.Executable("ipset", "ipset");
        (await netns.ExecWithInputAsync(input.ToString(), ipset, "-exist", "restore")).EnsureSuccess();
    }

    /// <summary>Runs <c>&lt;family&gt;-&lt;backend&gt;-restore --noflush [--test]</c> with the script on stdin.</summary>
    public static Task<CommandResult> LoadAsync(NetNs netns, string script, IptablesBackend backend, IpVersion version, LoadMode mode)
    {
        ArgumentNullException.ThrowIfNull(netns);
        string[] command = mode == LoadMode.Test
            ? [RestoreTool(backend, version), "--noflush", "--test"]
            : [RestoreTool(backend, version), "--noflush"];
        return netns.ExecWithInputAsync(script, command);
    }

    /// <summary>
    /// Creates the script's sets, loads it, and returns null when the tool accepted it, otherwise
    /// the failure as <see cref="DescribeFailure"/> writes it.
    /// </summary>
    public static async Task<string?> TryLoadAsync(NetNs netns, string script, IptablesBackend backend, IpVersion version,
        LoadMode mode, string context)
    {
        await CreateSetsAsync(netns, ReferencedSets(script));
        var result = await LoadAsync(netns, script, backend, version, mode);
        return result.Succeeded ? null : DescribeFailure(result, script, context);
    }

    public static async Task AssertLoadsAsync(NetNs netns, string script, IptablesBackend backend, IpVersion version,
        LoadMode mode, string context)
    {
        if (await TryLoadAsync(netns, script, backend, version, mode, context) is { } failure)
        {
            Assert.Fail(failure);
        }
    }

    /// <summary>
    /// What went wrong, for a person: which tool in which mode, its stderr, each line it named
    /// ("Error occurred at line: N", "line N failed", nft's "line N: RULE_APPEND failed") and the
    /// whole script, numbered as the tool counts. A legacy commit only ever names the COMMIT line:
    /// the kernel refuses the table as a whole, so the numbered script is what finds the rule.
    /// </summary>
    public static string DescribeFailure(CommandResult result, string script, string context)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(script);
        var lines = script.Split('\n');
        var text = new StringBuilder();
        var outcome = result.TimedOut ? "timed out" : $"exited with code {result.ExitCode}";
        text.Append(CultureInfo.InvariantCulture, $"`{result.CommandLine}` {outcome} ({context}).\n");
        text.Append("stderr:\n").Append(Indent(result.StandardError.TrimEnd())).Append('\n');
        var blamed = BlamedLines(result.StandardError, lines.Length);
        if (blamed.Count > 0)
        {
            text.Append("lines named by the tool:\n");
            foreach (var number in blamed)
            {
                text.Append(CultureInfo.InvariantCulture, $"  {number}: {lines[number - 1]}\n");
            }
        }
        text.Append("script:\n");
        var width = lines.Length.ToString(CultureInfo.InvariantCulture).Length;
        for (var i = 0; i < lines.Length; i++)
        {
            if (i == lines.Length - 1 && lines[i].Length == 0)
            {
                break;
            }
            text.Append(CultureInfo.InvariantCulture, $"  {(i + 1).ToString(CultureInfo.InvariantCulture).PadLeft(width)}: {lines[i]}\n");
        }
        return text.ToString();
    }

    /// <summary>The line numbers a restore tool's stderr names, in order, each once, within the script.</summary>
    public static IReadOnlyList<int> BlamedLines(string standardError, int scriptLines) =>
        [.. LineReference().Matches(standardError)
            .Select(m => int.TryParse(m.Groups[1].Value, CultureInfo.InvariantCulture, out var n) ? n : 0)
            .Where(n => n >= 1 && n <= scriptLines)
            .Distinct()];

    /// <summary>
    /// What <c>&lt;family&gt;-&lt;backend&gt;-save -t TABLE</c> shows in the namespace: each chain
    /// with its rule lines (<c>-A</c> lines without the <c>-A CHAIN</c>), built-in chains included.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, List<string>>> SavedChainsAsync(NetNs netns, IptablesBackend backend,
        IpVersion version, string table)
    {
        ArgumentNullException.ThrowIfNull(netns);
        var saved = await netns.ExecCheckedAsync(SaveTool(backend, version), "-t", table);
        var chains = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var line in saved.StandardOutput.Split('\n'))
        {
            if (line.StartsWith(':'))
            {
                chains[line[1..].Split(' ', 2)[0]] = [];
            }
            else if (line.StartsWith("-A ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ', 3);
                chains[parts[1]].Add(parts.Length > 2 ? parts[2] : string.Empty);
            }
        }
        return chains;
    }

    private static string Command(IpVersion version) => version == IpVersion.V6 ? "ip6tables" : "iptables";

    private static string Indent(string text) =>
        text.Length == 0 ? "  (empty)" : string.Join('\n', text.Split('\n').Select(line => "  " + line));

    [GeneratedRegex(@"--match-set (\S+)")]
    private static partial Regex MatchSet();

    [GeneratedRegex(@"\bline:? (\d+)")]
    private static partial Regex LineReference();
}
