using Felix.Dataplane.Iptables;

namespace Felix.Agent.Tests.Policy;

/// <summary>
/// The check every rendering test makes: each jump, goto and hook lands on a chain that is in the
/// rendered output. The kernel refuses a restore batch that breaks this, so a renderer that ever
/// produced one would stall the whole dataplane.
/// </summary>
internal static class ChainReferences
{
    public static void AssertClosed(IEnumerable<Chain> chains, IEnumerable<Hook> hooks)
    {
        var list = chains.ToList();
        var names = list.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var dangling = list
            .SelectMany(c => c.TargetChains.Where(t => !names.Contains(t)).Select(t => $"{c.Name} -> {t}"))
            .Concat(hooks.Select(h => h.Rule.Action.TargetChain).OfType<string>().Where(t => !names.Contains(t)).Select(t => $"hook -> {t}"))
            .ToList();
        Assert.True(dangling.Count == 0, "jumps to chains that are not rendered: " + string.Join(", ", dangling));
    }
}
