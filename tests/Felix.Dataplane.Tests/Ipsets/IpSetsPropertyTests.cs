using System.Net;
using Felix.Dataplane.Ipsets;
using Felix.Dataplane.Tests.Fakes;

namespace Felix.Dataplane.Tests.Ipsets;

/// <summary>
/// Seeded random histories against the fake kernel: desired-state changes, someone else's changes
/// between applies and in the middle of a restore, refused restores and sets held by rules. After
/// each round (updates, then deletions) every wanted set must be exactly as desired, unless a rule
/// keeps a set of the wrong type in place; no unwanted felix set may outlive its last user; no
/// temporary set may linger; and a manager restarted over the result must write nothing.
/// </summary>
public sealed class IpSetsPropertyTests
{
    private const string NoInterference = "no interference";

    private static readonly string[] Tags = ["a", "b", "c", "d"];

    public static TheoryData<int> Seeds => [.. Enumerable.Range(1, 300)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Every_round_ends_with_the_kernel_as_desired(int seed)
    {
        var random = new Random(seed);
        var fake = new FakeIpset();
        var harness = new IpSetsHarness(fake);
        var sets = harness.NewSets();
        var desired = new Dictionary<string, (IpSetSpec Spec, HashSet<IPNetwork> Members)>(StringComparer.Ordinal);
        var log = new List<string>();

        for (var round = 0; round < 12; round++)
        {
            for (var step = random.Next(1, 6); step > 0; step--)
            {
                log.Add(Change(random, sets, desired));
            }
            var interference = Interfere(random, fake);
            log.Add(interference);
            var failures = random.Next(4) == 0 ? random.Next(1, 4) : 0;
            fake.FailNext(failures, command: "restore");
            if (random.Next(6) == 0)
            {
                log.Add("refresh");
                sets.RequestReadBack();
            }

            Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None), Describe(seed, log, fake));
            Assert.True(await sets.ApplyDeletionsAsync(CancellationToken.None), Describe(seed, log, fake));
            fake.FailNext(0);
            fake.BeforeRestore = null;

            foreach (var name in fake.SetNames().Where(n => fake.References(n) > 0))
            {
                fake.SetReferences(name, 0);
            }
            harness.Clock.Advance(TimeSpan.FromSeconds(10));
            if (interference != NoInterference)
            {
                // Between refreshes the manager trusts its own record; the refresh is what finds someone else's change.
                sets.RequestReadBack();
            }
            for (var pass = 0; pass < 3 && sets.HasPendingWork; pass++)
            {
                Assert.True(await sets.ApplyUpdatesAsync(CancellationToken.None), Describe(seed, log, fake));
                Assert.True(await sets.ApplyDeletionsAsync(CancellationToken.None), Describe(seed, log, fake));
            }
            AssertKernelIsDesired(fake, desired, Describe(seed, log, fake));
        }

        var restarted = harness.NewSets();
        foreach (var (spec, members) in desired.Values)
        {
            restarted.AddOrReplaceSet(spec, members);
        }
        var restores = fake.RestoreInputs.Count;
        Assert.True(await restarted.ApplyUpdatesAsync(CancellationToken.None));
        Assert.True(await restarted.ApplyDeletionsAsync(CancellationToken.None));
        Assert.Equal(restores, fake.RestoreInputs.Count);
    }

    private static string Change(Random random, IpSets sets, Dictionary<string, (IpSetSpec Spec, HashSet<IPNetwork> Members)> desired)
    {
        var family = random.Next(3) == 0 ? IpVersion.V6 : IpVersion.V4;
        var name = $"felix-v{(int)family}-{Tags[random.Next(Tags.Length)]}";
        switch (random.Next(4))
        {
            case 0:
                var spec = new IpSetSpec(name, random.Next(8) == 0 ? IpSetType.HashNet : IpSetType.HashIp, family, random.Next(10) == 0 ? 4 : 64);
                var members = Enumerable.Range(0, random.Next(8)).Select(_ => Member(random, family)).ToHashSet();
                sets.AddOrReplaceSet(spec, members);
                desired[name] = (spec, members);
                return $"replace {name} {spec.Type} max {spec.MaxSize}: {string.Join(' ', members)}";
            case 1 when desired.ContainsKey(name):
                var added = Member(random, family);
                sets.AddMembers(name, [added]);
                desired[name].Members.Add(added);
                return $"add {name} {added}";
            case 2 when desired.TryGetValue(name, out var set) && set.Members.Count > 0:
                var removed = set.Members.ElementAt(random.Next(set.Members.Count));
                sets.RemoveMembers(name, [removed]);
                set.Members.Remove(removed);
                return $"remove {name} {removed}";
            case 3:
                sets.RemoveSet(name);
                desired.Remove(name);
                return $"remove set {name}";
            default:
                return "nothing";
        }
    }

    /// <summary>What another process does: before the apply, or while it runs (between read-back and restore).</summary>
    private static string Interfere(Random random, FakeIpset fake)
    {
        var felix = fake.SetNames().Where(n => n.StartsWith("felix-v", StringComparison.Ordinal)).ToList();
        if (felix.Count == 0 || random.Next(3) == 0)
        {
            return NoInterference;
        }
        var name = felix[random.Next(felix.Count)];
        var family = fake.Describe(name)!.Family ?? IpVersion.V4;
        Action change = random.Next(5) switch
        {
            0 => () => TryChange(() => fake.AddMember(name, Host(random, family))),
            1 => () => TryChange(() => fake.DeleteMember(name, fake.Members(name) is [var first, ..] ? first : "0.0.0.1")),
            2 => () => TryChange(() => fake.DestroySet(name)),
            3 => () => fake.SetReferences(name, 1),
            _ => () => TryChange(() => fake.FlushSet(name)),
        };
        if (random.Next(2) == 0)
        {
            change();
            return $"before the apply: change {name}";
        }
        fake.BeforeRestore = _ =>
        {
            fake.BeforeRestore = null;
            change();
        };
        return $"during the apply: change {name}";
    }

    private static void TryChange(Action change)
    {
        try
        {
            change();
        }
        catch (InvalidOperationException)
        {
            // The change was not possible (no such member, set in use): another process would have failed too.
        }
    }

    private static void AssertKernelIsDesired(FakeIpset fake, Dictionary<string, (IpSetSpec Spec, HashSet<IPNetwork> Members)> desired, string context)
    {
        Assert.DoesNotContain(fake.SetNames(), IpSetNames.IsTemporary);
        Assert.True(desired.Keys.Order(StringComparer.Ordinal).SequenceEqual(fake.SetNames().Order(StringComparer.Ordinal)),
            $"the kernel has [{string.Join(' ', fake.SetNames())}], wanted [{string.Join(' ', desired.Keys)}]\n{context}");
        foreach (var (name, (spec, members)) in desired)
        {
            var set = fake.Describe(name)!;
            if (members.Count > spec.MaxSize)
            {
                continue;
            }
            Assert.True(set.Type == spec.Type.ToIpsetName() && set.Family == spec.Family && set.MaxElem == spec.MaxSize, $"{name} is {set.Type} {set.Family} {set.MaxElem}\n{context}");
            var held = set.Members.Select(m => ParseMember(m, spec.Family)).ToHashSet();
            Assert.True(held.SetEquals(members),
                $"{name} holds [{string.Join(' ', set.Members)}], wanted [{string.Join(' ', members)}]\n{context}");
        }
    }

    private static IPNetwork ParseMember(string text, IpVersion family) =>
        IpSetMembers.TryParse(text, family, out var member) ? member : throw new FormatException(text);

    private static IPNetwork Member(Random random, IpVersion family) => IPNetwork.Parse(Host(random, family) + (family == IpVersion.V6 ? "/128" : "/32"));

    private static string Host(Random random, IpVersion family) =>
        family == IpVersion.V6 ? $"fd00::{random.Next(1, 12):x}" : $"10.0.0.{random.Next(1, 12)}";

    private static string Describe(int seed, List<string> log, FakeIpset fake) =>
        $"seed {seed}; history:\n  {string.Join("\n  ", log)}\nkernel:\n{fake.Snapshot()}";
}
