using Felix.Agent.Model;
using Felix.Dataplane.Iptables;

namespace Felix.Agent.Policy;

/// <summary>
/// Turns one rule of the v1 language into iptables rules for one IP family. The output can only
/// narrow what the rule says, never widen it: a rule that cannot be expressed for the family is
/// left out (<see cref="Rule.AppliesTo"/>), and a rule whose matches contradict each other renders
/// to nothing. Multiport takes at most 15 slots, so a longer positive port list becomes several
/// rules (any may match) and a longer negated one several matches in the same rule (all must hold).
/// </summary>
internal static class ProfileRuleRenderer
{
    /// <summary>What a LOG rule without <c>log_prefix</c> writes, so its lines can still be found in the kernel log.</summary>
    public const string DefaultLogPrefix = "felix-packet: ";

    public static IEnumerable<IptablesRule> Render(Rule rule, IpVersion version, uint acceptMark)
    {
        if (!rule.AppliesTo(version) || Contradicts(rule))
        {
            return [];
        }
        var matches = Matches(rule, version).ToList();
        return rule.Action switch
        {
            RuleAction.Allow =>
            [
                .. matches.Select(m => new IptablesRule(m, new SetMarkAction(acceptMark, acceptMark))),
                new IptablesRule(MatchCriteria.Any.Mark(acceptMark, acceptMark), IptablesAction.Return),
            ],
            RuleAction.Deny => matches.Select(m => new IptablesRule(m, IptablesAction.Drop)),
            RuleAction.Log => matches.Select(m => new IptablesRule(m, new LogAction(rule.LogPrefix ?? DefaultLogPrefix))),
            _ => throw new ArgumentOutOfRangeException(nameof(rule), rule.Action, "unknown rule action"),
        };
    }

    /// <summary>
    /// A rule that matches no packet: a protocol both required and excluded, or an excluded net
    /// that covers the required one (or, at <c>/0</c>, every address). Rendering nothing is exact,
    /// and necessary: the nft backend refuses <c>! -s 0.0.0.0/0</c> and with it the whole batch.
    /// </summary>
    private static bool Contradicts(Rule rule) =>
        (rule.Match.Protocol is { } wanted && rule.NotMatch.Protocol == wanted)
        || Covers(rule.NotMatch.SrcNet, rule.Match.SrcNet)
        || Covers(rule.NotMatch.DstNet, rule.Match.DstNet);

    private static bool Covers(System.Net.IPNetwork? excluded, System.Net.IPNetwork? required) =>
        excluded is { } outer
        && (outer.PrefixLength == 0
            || (required is { } inner && outer.PrefixLength <= inner.PrefixLength && outer.Contains(inner.BaseAddress)));

    private static IEnumerable<MatchCriteria> Matches(Rule rule, IpVersion version)
    {
        var (match, not) = (rule.Match, rule.NotMatch);
        var criteria = MatchCriteria.Any;
        if (match.Protocol is { } protocol)
        {
            criteria = criteria.Protocol(protocol.Name);
        }
        else if (not.Protocol is { } excluded)
        {
            // Only without a positive protocol: iptables takes one -p, and a different required
            // protocol already excludes this one.
            criteria = criteria.Protocol(excluded.Name, negated: true);
        }
        criteria = Net(criteria, match.SrcNet, not.SrcNet, SetDirection.Source);
        criteria = Net(criteria, match.DstNet, not.DstNet, SetDirection.Destination);
        criteria = Tag(criteria, match.SrcTag, SetDirection.Source, version, negated: false);
        criteria = Tag(criteria, not.SrcTag, SetDirection.Source, version, negated: true);
        criteria = Tag(criteria, match.DstTag, SetDirection.Destination, version, negated: false);
        criteria = Tag(criteria, not.DstTag, SetDirection.Destination, version, negated: true);
        if (match.IcmpType is { } type)
        {
            criteria = criteria.IcmpType(version, type, match.IcmpCode);
        }
        if (not.IcmpType is { } notType)
        {
            criteria = criteria.IcmpType(version, notType, not.IcmpCode, negated: true);
        }
        foreach (var group in MultiportGroups(not.SrcPorts))
        {
            criteria = criteria.SourcePorts(group, negated: true);
        }
        foreach (var group in MultiportGroups(not.DstPorts))
        {
            criteria = criteria.DestPorts(group, negated: true);
        }
        var srcGroups = MultiportGroups(match.SrcPorts);
        var dstGroups = MultiportGroups(match.DstPorts);
        foreach (var src in srcGroups.Count == 0 ? [null] : srcGroups.Cast<IReadOnlyList<PortRange>?>())
        {
            foreach (var dst in dstGroups.Count == 0 ? [null] : dstGroups.Cast<IReadOnlyList<PortRange>?>())
            {
                var withPorts = criteria;
                if (src is not null)
                {
                    withPorts = withPorts.SourcePorts(src);
                }
                if (dst is not null)
                {
                    withPorts = withPorts.DestPorts(dst);
                }
                yield return withPorts;
            }
        }
    }

    /// <summary>
    /// A required and an excluded net on the same side: iptables takes one <c>-s</c> (<c>-d</c>), so
    /// the excluded one, a contiguous range like every CIDR, goes through the iprange match.
    /// </summary>
    private static MatchCriteria Net(MatchCriteria criteria, System.Net.IPNetwork? required,
        System.Net.IPNetwork? excluded, SetDirection side)
    {
        var source = side == SetDirection.Source;
        if (required is { } net)
        {
            criteria = source ? criteria.SourceNet(net) : criteria.DestNet(net);
        }
        if (excluded is { } notNet)
        {
            criteria = required is null
                ? source ? criteria.SourceNet(notNet, negated: true) : criteria.DestNet(notNet, negated: true)
                : criteria.AddressRange(notNet, side, negated: true);
        }
        return criteria;
    }

    private static MatchCriteria Tag(MatchCriteria criteria, string? tag, SetDirection side, IpVersion version, bool negated) =>
        tag is null ? criteria : criteria.IpSet(PolicyNames.TagSet(tag, version), side, negated);

    /// <summary>Consecutive groups of at most 15 multiport slots, in the rule's order.</summary>
    internal static List<IReadOnlyList<PortRange>> MultiportGroups(IReadOnlyList<PortRange> ports)
    {
        var groups = new List<IReadOnlyList<PortRange>>();
        var current = new List<PortRange>();
        var slots = 0;
        foreach (var port in ports)
        {
            if (slots + port.MultiportSlots > MatchCriteria.MaxMultiportSlots)
            {
                groups.Add(current);
                (current, slots) = ([], 0);
            }
            current.Add(port);
            slots += port.MultiportSlots;
        }
        if (current.Count > 0)
        {
            groups.Add(current);
        }
        return groups;
    }
}
