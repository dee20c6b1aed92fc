using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Felix.Dataplane.Iptables;

/// <summary>Which address of the packet an ipset match looks up.</summary>
public enum SetDirection
{
    Source,
    Destination,
}

[Flags]
public enum ConntrackStates
{
    None = 0,
    Invalid = 1,
    Established = 2,
    Related = 4,
}

/// <summary>
/// The match part of a rule, built only through these methods, each of which checks its argument
/// and appends one fixed fragment of <c>iptables-restore</c> syntax. There is no way to add raw
/// text, so no value can add a match the caller did not ask for. Instances are immutable and compare
/// by their text; the ipsets they refer to are kept alongside so the dataplane can order set
/// creation before the rules that use them.
/// </summary>
public sealed partial class MatchCriteria : IEquatable<MatchCriteria>
{
    /// <summary>The kernel's multiport limit (<c>XT_MULTI_PORTS</c>); a range takes two slots.</summary>
    public const int MaxMultiportSlots = 15;

    private readonly string _text;

    /// <summary>
    /// The protocol match so far: its name when required, empty when excluded, null when none.
    /// Port and ICMP matches need the right required one before them; iptables takes only one.
    /// </summary>
    private readonly string? _protocol;

    private MatchCriteria(string text, ImmutableArray<string> ipSets, string? protocol)
    {
        _text = text;
        IpSets = ipSets;
        _protocol = protocol;
    }

    public static MatchCriteria Any { get; } = new(string.Empty, [], null);

    /// <summary>The ipsets this match refers to, in the order they appear.</summary>
    public ImmutableArray<string> IpSets { get; }

    public bool IsAny => _text.Length == 0;

    public MatchCriteria InInterface(string name, bool negated = false) =>
        With($"{Not(negated)}-i {IptablesNames.Interface(name)}");

    public MatchCriteria OutInterface(string name, bool negated = false) =>
        With($"{Not(negated)}-o {IptablesNames.Interface(name)}");

    public MatchCriteria Conntrack(ConntrackStates states)
    {
        if (states == ConntrackStates.None)
        {
            throw new ArgumentException("no conntrack state given", nameof(states));
        }
        var names = new List<string>(3);
        if (states.HasFlag(ConntrackStates.Invalid))
        {
            names.Add("INVALID");
        }
        if (states.HasFlag(ConntrackStates.Related))
        {
            names.Add("RELATED");
        }
        if (states.HasFlag(ConntrackStates.Established))
        {
            names.Add("ESTABLISHED");
        }
        return With($"-m conntrack --ctstate {string.Join(',', names)}");
    }

    /// <summary>A protocol by its iptables name (<c>tcp</c>) or number; must precede port and ICMP matches.</summary>
    public MatchCriteria Protocol(string nameOrNumber, bool negated = false)
    {
        if (!ProtocolPattern().IsMatch(nameOrNumber) || _protocol is not null)
        {
            throw new ArgumentException($"'{nameOrNumber}' is not a protocol name or number, or a second protocol", nameof(nameOrNumber));
        }
        return new MatchCriteria(Append($"{Not(negated)}-p {nameOrNumber}"), IpSets, negated ? string.Empty : nameOrNumber);
    }

    public MatchCriteria SourceNet(IPNetwork net, bool negated = false) => With($"{Not(negated)}-s {net}");

    public MatchCriteria DestNet(IPNetwork net, bool negated = false) => With($"{Not(negated)}-d {net}");

    /// <summary>
    /// A network as an address range (<c>-m iprange</c>), for a second address match on the same
    /// side: iptables accepts only one <c>-s</c> and one <c>-d</c> per rule.
    /// </summary>
    public MatchCriteria AddressRange(IPNetwork net, SetDirection direction, bool negated = false)
    {
        var (first, last) = Bounds(net);
        var flag = direction == SetDirection.Source ? "--src-range" : "--dst-range";
        return With($"-m iprange {Not(negated)}{flag} {first}-{last}");
    }

    public MatchCriteria IpSet(string setName, SetDirection direction, bool negated = false)
    {
        var name = IptablesNames.IpSet(setName);
        var flag = direction == SetDirection.Source ? "src" : "dst";
        return new MatchCriteria(Append($"-m set {Not(negated)}--match-set {name} {flag}"), IpSets.Add(name), _protocol);
    }

    /// <summary>
    /// A multiport match on source ports; at most <see cref="MaxMultiportSlots"/> slots, so the
    /// caller splits longer lists (into several rules when positive, several matches when negated).
    /// </summary>
    public MatchCriteria SourcePorts(IReadOnlyList<PortRange> ports, bool negated = false) =>
        RequireProtocol(PortProtocols).With($"-m multiport {Not(negated)}--sports {Ports(ports)}");

    public MatchCriteria DestPorts(IReadOnlyList<PortRange> ports, bool negated = false) =>
        RequireProtocol(PortProtocols).With($"-m multiport {Not(negated)}--dports {Ports(ports)}");

    /// <summary>An ICMP (v4) or ICMPv6 type, optionally with a code; needs the matching protocol first.</summary>
    public MatchCriteria IcmpType(IpVersion version, byte type, byte? code, bool negated = false)
    {
        var value = code is { } c ? $"{type}/{c}" : $"{type}";
        return version == IpVersion.V4
            ? RequireProtocol(["icmp"]).With($"-m icmp {Not(negated)}--icmp-type {value}")
            : RequireProtocol(["icmpv6"]).With($"-m icmp6 {Not(negated)}--icmpv6-type {value}");
    }

    public MatchCriteria Mark(uint mark, uint mask, bool negated = false) =>
        With($"-m mark {Not(negated)}--mark {Hex(mark)}/{Hex(mask)}");

    /// <summary>A MAC address in lowercase colon form, as the model stores it.</summary>
    public MatchCriteria SourceMac(string mac, bool negated = false) =>
        MacPattern().IsMatch(mac)
            ? With($"-m mac {Not(negated)}--mac-source {mac}")
            : throw new ArgumentException($"'{mac}' is not a MAC address", nameof(mac));

    public override string ToString() => _text;

    public System.Text.StringBuilder AppendTo(System.Text.StringBuilder text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Append(_text);
    }

    public bool Equals(MatchCriteria? other) => other is not null && _text == other._text;

    public override bool Equals(object? obj) => Equals(obj as MatchCriteria);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_text);

    internal static string Hex(uint value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    private MatchCriteria With(string fragment) => new(Append(fragment), IpSets, _protocol);

    /// <summary>The protocols the multiport match accepts, by the names the model renders.</summary>
    private static readonly string[] PortProtocols = ["tcp", "udp", "sctp", "udplite"];

    /// <summary>iptables refuses a port or ICMP match without its protocol before it; fail here, not in the kernel.</summary>
    private MatchCriteria RequireProtocol(string[] protocols) =>
        _protocol is not null && protocols.Contains(_protocol)
            ? this
            : throw new InvalidOperationException($"this match needs -p {string.Join('|', protocols)} before it, not '{_text}'");

    private string Append(string fragment) => _text.Length == 0 ? fragment : $"{_text} {fragment}";

    private static (IPAddress First, IPAddress Last) Bounds(IPNetwork net)
    {
        var bytes = net.BaseAddress.GetAddressBytes();
        var last = (byte[])bytes.Clone();
        for (var bit = net.PrefixLength; bit < bytes.Length * 8; bit++)
        {
            last[bit / 8] |= (byte)(0x80 >> (bit % 8));
        }
        return (new IPAddress(bytes), new IPAddress(last));
    }

    private static string Not(bool negated) => negated ? "! " : string.Empty;

    private static string Ports(IReadOnlyList<PortRange> ports)
    {
        var slots = ports.Sum(p => p.MultiportSlots);
        if (ports.Count == 0 || slots > MaxMultiportSlots || ports.Any(p => p.First > p.Last))
        {
            throw new ArgumentException(
                $"a multiport match takes 1-{MaxMultiportSlots} slots of ordered ranges, not '{string.Join(',', ports)}'",
                nameof(ports));
        }
        return string.Join(',', ports);
    }

    [GeneratedRegex(@"^([a-z][a-z0-9]{0,15}|[1-9][0-9]?|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\z")]
    private static partial Regex ProtocolPattern();

    [GeneratedRegex(@"^[0-9a-f]{2}(:[0-9a-f]{2}){5}\z")]
    private static partial Regex MacPattern();
}
