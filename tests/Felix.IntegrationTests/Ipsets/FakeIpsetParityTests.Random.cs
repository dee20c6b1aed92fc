using System.Globalization;

namespace Felix.IntegrationTests.Ipsets;

/// <summary>
/// Random restore scripts from a small vocabulary of good and bad lines, with fixed seeds so a
/// failure repeats: they reach combinations of batching, -exist, swaps, renames and references that
/// no hand-written scenario thought of. Most lines suit their set, so runs get past their first lines.
/// </summary>
public sealed partial class FakeIpsetParityTests
{
    /// <summary>Each set's usual type and members; t4 is a second hash:ip set to swap with.</summary>
    private static readonly (string Name, string Type, string[] Members)[] RandomSets =
    [
        ("s4", "hash:ip", ["10.0.0.1", "10.0.0.2", "10.1", "10.0.0.0/30", "10.0.0.4-10.0.0.6", "0.0.0.0", "10.0.0.1/32"]),
        ("t4", "hash:ip", ["10.0.0.1", "10.0.0.3", "10.0.1.0/31"]),
        ("s6", "hash:ip family inet6", ["2001:db8::1", "2001:DB8::2", "::ffff:0:1", "::", "2001:db8::1/128"]),
        ("n4", "hash:net", ["10.0.0.0/24", "10.0.0.0/26", "10.0.0.1", "10.0.0.0-10.0.0.5", "10.0.0.0/0"]),
        ("n6", "hash:net family inet6", ["2001:db8::/64", "2001:db8::/32", "2001:db8::5", "::/0"]),
        ("L", "list:set", ["s4", "t4", "s6", "n4", "L", "nosuch"]),
    ];

    /// <summary>No large CIDRs: the kernel grows a filling hash by its random seed, which the fake does not model.</summary>
    private static readonly string[] StrayMembers = ["bogus", "10.0.0.1", "2001:db8::1", "10.0.0.0/28", "s4"];

    private static IEnumerable<KeyValuePair<string, Step[]>> RandomScenarios() =>
        Enumerable.Range(1, 6).Select(seed => KeyValuePair.Create($"random-{seed}", RandomScripts(seed, 40).ToArray()));

    private static IEnumerable<Step> RandomScripts(int seed, int count)
    {
        var random = new Random(seed);
        yield return Restore(string.Concat(RandomSets.Select(set => $"create {set.Name} {set.Type}\n")));
        for (var i = 0; i < count; i++)
        {
            var script = string.Concat(Enumerable.Range(0, random.Next(1, 12)).Select(_ => RandomLine(random) + "\n"));
            yield return random.Next(8) == 0 ? Restore(script, "-exist") : Restore(script);
        }
    }

    private static string RandomLine(Random random)
    {
        var set = RandomSets[random.Next(RandomSets.Length)];
        var other = RandomSets[random.Next(RandomSets.Length)];
        var name = random.Next(20) == 0 ? "nosuch" : set.Name;
        var member = random.Next(5) == 0 ? StrayMembers[random.Next(StrayMembers.Length)] : set.Members[random.Next(set.Members.Length)];
        var exist = random.Next(5) == 0 ? " -exist" : "";
        return random.Next(40) switch
        {
            < 16 => $"add {name} {member}{exist}",
            < 24 => $"del {name} {member}{exist}",
            < 28 => $"create {name} {set.Type}{exist}",
            28 => $"create {name} {other.Type}{(random.Next(2) == 0 ? " maxelem 3" : "")}{exist}",
            29 => $"destroy {name}{exist}",
            30 => $"flush {name}",
            < 33 => $"swap {name} {other.Name}",
            33 => $"rename {name} {other.Name}",
            34 => $"rename {other.Name} {other.Name}x",
            35 => random.Next(2) == 0 ? "COMMIT" : "# comment",
            36 => "",
            37 => random.Next(3) == 0 ? "destroy" : "flush",
            38 => random.Next(3) == 0 ? "quit" : "COMMIT",
            _ => string.Create(CultureInfo.InvariantCulture, $"add {name} 10.0.{random.Next(3)}.{random.Next(1, 4)}"),
        };
    }
}
