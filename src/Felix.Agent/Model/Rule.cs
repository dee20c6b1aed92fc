using System.Net;

namespace Felix.Agent.Model;

/// <summary>
/// One rule of a profile, in the v1 rule language (DESIGN.md §2). The positive matches sit in
/// <see cref="Match"/> and the <c>!</c>-negated ones in <see cref="NotMatch"/>, field for field,
/// so a renderer handles both with one code path and a leading <c>!</c>. A rule matches a packet
/// when every match present in both holds. The parser has checked every combination (ports only
/// with a port protocol, ICMP code only with a type, nets of one family), so a consumer renders
/// what is here without re-validating.
/// </summary>
public sealed record Rule
{
    public RuleAction Action { get; init; } = RuleAction.Allow;

    /// <summary>The rule's <c>ip_version</c>, when it gives one; see <see cref="AppliesTo"/>.</summary>
    public IpVersion? IpVersion { get; init; }

    public RuleMatch Match { get; init; } = RuleMatch.Any;

    public RuleMatch NotMatch { get; init; } = RuleMatch.Any;

    /// <summary>Only with <see cref="RuleAction.Log"/>; already safe to quote into an iptables LOG rule.</summary>
    public string? LogPrefix { get; init; }

    /// <summary>
    /// Whether the rule belongs in the chains of family <paramref name="version"/>. A rule without
    /// <c>ip_version</c> still carries a family when one of its nets (negated or not) or its ICMP
    /// protocol has one: rendering it for the other family would have to drop that match and so
    /// widen the rule, so it is left out of that family instead.
    /// </summary>
    public bool AppliesTo(IpVersion version) =>
        Fits(IpVersion, version)
        && Fits(Match.SrcNet, version) && Fits(Match.DstNet, version)
        && Fits(NotMatch.SrcNet, version) && Fits(NotMatch.DstNet, version)
        && Fits(Match.Protocol, version);

    private static bool Fits(IpVersion? required, IpVersion version) => required is null || required == version;

    private static bool Fits(IPNetwork? net, IpVersion version) => net is null || Networks.FamilyOf(net.Value) == version;

    private static bool Fits(Protocol? protocol, IpVersion version) => Fits(protocol?.Family, version);
}

public enum RuleAction
{
    Allow,
    Deny,
    Log,
}

/// <summary>
/// The match fields of a rule, all optional. An empty port list means "no port match": the parser
/// refuses an explicit empty list, which could otherwise be read as either "any" or "none".
/// </summary>
public sealed record RuleMatch
{
    public static RuleMatch Any { get; } = new();

    public Protocol? Protocol { get; init; }

    public string? SrcTag { get; init; }

    public string? DstTag { get; init; }

    public IPNetwork? SrcNet { get; init; }

    public IPNetwork? DstNet { get; init; }

    public EquatableList<PortRange> SrcPorts { get; init; } = [];

    public EquatableList<PortRange> DstPorts { get; init; } = [];

    public byte? IcmpType { get; init; }

    /// <summary>Only together with <see cref="IcmpType"/>: iptables matches a code as "type/code".</summary>
    public byte? IcmpCode { get; init; }
}
