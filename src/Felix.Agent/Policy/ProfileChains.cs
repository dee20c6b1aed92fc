using Felix.Agent.Model;
using Felix.Dataplane.Iptables;

namespace Felix.Agent.Policy;

/// <summary>
/// A profile's two chains, <c>felix-p-&lt;id&gt;-i</c> (inbound rules) and <c>-o</c> (outbound).
/// A chain only ever sets the accept mark and returns, drops, or logs: it falls off its end when no
/// rule decided, and the endpoint chain that jumped here tries its next profile. A profile that is
/// referenced but has no rules in the datastore gets chains that drop everything, so the endpoints
/// using it fail closed until the rules arrive.
/// </summary>
internal static class ProfileChains
{
    public static IEnumerable<Chain> Render(string profileId, ProfileRules? rules, IpVersion version, PolicyConfig config)
    {
        yield return Render(profileId, rules?.Inbound, PolicyDirection.Inbound, version, config);
        yield return Render(profileId, rules?.Outbound, PolicyDirection.Outbound, version, config);
    }

    public static IEnumerable<string> Names(string profileId) =>
    [
        PolicyNames.ProfileChain(profileId, PolicyDirection.Inbound),
        PolicyNames.ProfileChain(profileId, PolicyDirection.Outbound),
    ];

    private static Chain Render(string profileId, IReadOnlyList<Rule>? rules, PolicyDirection direction,
        IpVersion version, PolicyConfig config)
    {
        var name = PolicyNames.ProfileChain(profileId, direction);
        if (rules is null)
        {
            var comment = IptablesNames.TruncatedComment($"Drop everything: profile {profileId} is not in the datastore");
            return new Chain(name, [new IptablesRule(IptablesAction.Drop, comment)]);
        }
        return new Chain(name, rules.SelectMany(rule => ProfileRuleRenderer.Render(rule, version, config.AcceptMark)));
    }
}
