using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Felix.Dataplane;
using Felix.Dataplane.Ipsets;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Ipsets;

/// <summary>One set as <c>ipset save</c> shows it, read by the test itself (not by the agent's parser).</summary>
/// <param name="Members">The members as written after <c>add NAME</c>, verbatim.</param>
public sealed record KernelSet(string Name, string Type, string Family, long MaxElem, IReadOnlySet<string> Members)
{
    /// <summary>The members as networks (an address alone is a host network); fails on anything else, such as extensions.</summary>
    public IReadOnlySet<IPNetwork> Networks => Members.Select(ParseMember).ToHashSet();

    private IPNetwork ParseMember(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        Assert.True(IPAddress.TryParse(slash < 0 ? text : text[..slash], out var address), $"{Name}: member '{text}' is not an address or network");
        var prefix = slash < 0
            ? address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32
            : int.Parse(text[(slash + 1)..], CultureInfo.InvariantCulture);
        return new IPNetwork(address, prefix);
    }
}

/// <summary>
/// What <c>ipset</c> shows in a test namespace: every set parsed from <c>ipset save</c> (type,
/// family, <c>maxelem</c>, members; hashsize, bucketsize and the hash seed ignored), the verbatim
/// <c>ipset save -sorted</c> lines of chosen sets, and a comparison with the desired state that
/// names every difference.
/// </summary>
public static class KernelIpsets
{
    private static string Ipset => Require.Executable("ipset", "ipset");

    public static async Task<IReadOnlyDictionary<string, KernelSet>> ReadAsync(NetNs netns)
    {
        ArgumentNullException.ThrowIfNull(netns);
        var saved = await netns.ExecCheckedAsync(Ipset, "save");
        var sets = new Dictionary<string, (string Type, string Family, long MaxElem, HashSet<string> Members)>(StringComparer.Ordinal);
        foreach (var line in saved.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var words = line.Split(' ', 3);
            Assert.True(words.Length == 3, $"ipset save printed an unexpected line: {line}");
            if (words[0] == "create")
            {
                var options = words[2].Split(' ');
                sets[words[1]] = (options[0], Option(options, "family") ?? "", long.Parse(Option(options, "maxelem") ?? "0", CultureInfo.InvariantCulture), []);
            }
            else
            {
                Assert.True(words[0] == "add" && sets.ContainsKey(words[1]), $"ipset save printed an unexpected line: {line}");
                sets[words[1]].Members.Add(words[2]);
            }
        }
        return sets.ToDictionary(s => s.Key, s => new KernelSet(s.Key, s.Value.Type, s.Value.Family, s.Value.MaxElem, s.Value.Members), StringComparer.Ordinal);
    }

    /// <summary>
    /// The <c>ipset save -sorted</c> lines (create and add, hash seed included) of every set whose
    /// name <paramref name="include"/> accepts, in save's order: a set destroyed and re-created, or
    /// one member touched, shows up here.
    /// </summary>
    public static async Task<IReadOnlyList<string>> SortedLinesAsync(NetNs netns, Func<string, bool> include)
    {
        ArgumentNullException.ThrowIfNull(netns);
        ArgumentNullException.ThrowIfNull(include);
        var saved = await netns.ExecCheckedAsync(Ipset, "save", "-sorted");
        return [.. saved.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => include(l.Split(' ', 3)[1]))];
    }

    /// <summary>Runs <c>ipset ARGS…</c> in the namespace, as an operator or another program would.</summary>
    public static Task<CommandResult> RunAsync(NetNs netns, params string[] arguments)
    {
        ArgumentNullException.ThrowIfNull(netns);
        return netns.ExecCheckedAsync([Ipset, .. arguments]);
    }

    /// <summary>Feeds <paramref name="script"/> to <c>ipset restore</c> in the namespace.</summary>
    public static async Task RestoreAsync(NetNs netns, string script)
    {
        ArgumentNullException.ThrowIfNull(netns);
        (await netns.ExecWithInputAsync(script, Ipset, "restore")).EnsureSuccess();
    }

    /// <summary>How many rules reference the set (<c>ipset list -terse</c>'s References).</summary>
    public static async Task<int> ReferencesAsync(NetNs netns, string name)
    {
        var listed = await RunAsync(netns, "list", "-terse", name);
        var line = listed.StandardOutput.Split('\n').Single(l => l.StartsWith("References: ", StringComparison.Ordinal));
        return int.Parse(line["References: ".Length..], CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The felix sets in the kernel are exactly <paramref name="expected"/>: no set missing or
    /// extra (temporary ones included), each of the wanted type, family and <c>maxelem</c>, with
    /// exactly the wanted members.
    /// </summary>
    public static async Task AssertFelixSetsAsync(NetNs netns, IReadOnlyDictionary<string, (IpSetSpec Spec, IReadOnlySet<IPNetwork> Members)> expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var kernel = (await ReadAsync(netns)).Where(s => IpSetNames.IsOwned(s.Key)).ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);
        var problems = new List<string>();
        problems.AddRange(kernel.Keys.Except(expected.Keys).Order(StringComparer.Ordinal).Select(n => $"{n}: in the kernel but not wanted"));
        foreach (var (name, (spec, members)) in expected.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (!kernel.TryGetValue(name, out var set))
            {
                problems.Add($"{name}: wanted but not in the kernel");
                continue;
            }
            var header = (set.Type, set.Family, set.MaxElem);
            var wanted = (TypeName(spec.Type), spec.Family == IpVersion.V6 ? "inet6" : "inet", (long)spec.MaxSize);
            if (header != wanted)
            {
                problems.Add($"{name}: is {header}, wanted {wanted}");
            }
            var have = set.Networks;
            var missing = members.Except(have).Select(m => m.ToString()).Order(StringComparer.Ordinal).ToList();
            var extra = have.Except(members).Select(m => m.ToString()).Order(StringComparer.Ordinal).ToList();
            if (missing.Count + extra.Count > 0)
            {
                problems.Add($"{name}: {missing.Count} members missing [{string.Join(", ", missing.Take(5))}], {extra.Count} extra [{string.Join(", ", extra.Take(5))}]");
            }
        }
        Assert.True(problems.Count == 0, $"the felix sets in {netns} differ from the desired state:\n{string.Join('\n', problems)}");
    }

    public static string TypeName(IpSetType type) => type == IpSetType.HashNet ? "hash:net" : "hash:ip";

    private static string? Option(string[] options, string name)
    {
        var index = Array.IndexOf(options, name);
        return index >= 0 && index + 1 < options.Length ? options[index + 1] : null;
    }
}
