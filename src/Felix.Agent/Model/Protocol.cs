namespace Felix.Agent.Model;

/// <summary>
/// An IP protocol number as a rule names it. Names and numbers are one value (<c>"tcp"</c> and
/// <c>6</c> compare equal), so the renderer and the port checks need to know only the number.
/// Names are the lowercase spellings of the v1 rule language and are matched case-sensitively,
/// as the original agent did: <c>"TCP"</c> is rejected rather than guessed at.
/// </summary>
public readonly record struct Protocol(byte Number)
{
    public static Protocol Icmp { get; } = new(1);

    public static Protocol Tcp { get; } = new(6);

    public static Protocol Udp { get; } = new(17);

    public static Protocol IcmpV6 { get; } = new(58);

    public static Protocol Sctp { get; } = new(132);

    public static Protocol UdpLite { get; } = new(136);

    /// <summary>The name iptables knows it by, or the number for the protocols without one here.</summary>
    public string Name => Number switch
    {
        1 => "icmp",
        6 => "tcp",
        17 => "udp",
        58 => "icmpv6",
        132 => "sctp",
        136 => "udplite",
        _ => Number.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Whether port matches make sense: the protocols iptables' multiport match accepts.</summary>
    public bool HasPorts => Number is 6 or 17 or 132 or 136;

    public bool IsIcmp => Number is 1 or 58;

    /// <summary>The one family the protocol exists in (ICMP and ICMPv6), or null for the others.</summary>
    public IpVersion? Family => Number switch
    {
        1 => IpVersion.V4,
        58 => IpVersion.V6,
        _ => null,
    };

    /// <summary>
    /// Parses a protocol name. Numbers come as JSON numbers, not strings, and go through
    /// <see cref="TryFromNumber"/>.
    /// </summary>
    public static bool TryFromName(string name, out Protocol protocol)
    {
        protocol = name switch
        {
            "icmp" => Icmp,
            "tcp" => Tcp,
            "udp" => Udp,
            "icmpv6" => IcmpV6,
            "sctp" => Sctp,
            "udplite" => UdpLite,
            _ => default,
        };
        return protocol.Number != 0;
    }

    /// <summary>
    /// 1-255. Zero is refused because iptables reads <c>-p 0</c> as "any protocol": accepting it
    /// would turn a protocol match into no match at all.
    /// </summary>
    public static bool TryFromNumber(int number, out Protocol protocol)
    {
        protocol = number is >= 1 and <= 255 ? new Protocol((byte)number) : default;
        return protocol.Number != 0;
    }

    public override string ToString() => Name;
}
