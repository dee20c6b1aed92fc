using Felix.Dataplane.Iptables;

namespace Felix.Dataplane.Tests.Iptables;

/// <summary>Every match method that takes a free value refuses one that is not what it claims to be.</summary>
public class MatchCriteriaValidationTests
{
    private static readonly MatchCriteria Any = MatchCriteria.Any;
    private static readonly MatchCriteria Tcp = MatchCriteria.Any.Protocol("tcp");
    private static readonly MatchCriteria Icmp = MatchCriteria.Any.Protocol("icmp");
    private static readonly MatchCriteria Icmp6 = MatchCriteria.Any.Protocol("icmpv6");

    [Theory]
    [MemberData(nameof(IptablesNamesTests.HostileNames), MemberType = typeof(IptablesNamesTests))]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345")]
    public void An_ipset_match_refuses_a_bad_set_name_in_either_direction(string name)
    {
        Assert.Throws<ArgumentException>(() => Any.IpSet(name, SetDirection.Source));
        Assert.Throws<ArgumentException>(() => Any.IpSet(name, SetDirection.Destination, negated: true));
    }

    [Theory]
    [MemberData(nameof(IptablesNamesTests.HostileNames), MemberType = typeof(IptablesNamesTests))]
    [InlineData("abcdefghijklmnop")]
    [InlineData("abcdefghijklmnop+")]
    public void Interface_matches_refuse_a_bad_interface_name(string name)
    {
        Assert.Throws<ArgumentException>(() => Any.InInterface(name));
        Assert.Throws<ArgumentException>(() => Any.OutInterface(name, negated: true));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("tcp ")]
    [InlineData(" tcp")]
    [InlineData("tcp udp")]
    [InlineData("tcp -j ACCEPT")]
    [InlineData("tcp\tudp")]
    [InlineData("tcp\nudp")]
    [InlineData("\ntcp")]
    [InlineData("tcp\0")]
    [InlineData("\"tcp\"")]
    [InlineData("tcp\\")]
    [InlineData("TCP")]
    [InlineData("Tcp")]
    [InlineData("-tcp")]
    [InlineData("!tcp")]
    [InlineData("! tcp")]
    [InlineData("tcp,udp")]
    [InlineData("0")]
    [InlineData("00")]
    [InlineData("06")]
    [InlineData("047")]
    [InlineData("1000")]
    [InlineData("-1")]
    [InlineData("+6")]
    [InlineData("6tcp")]
    [InlineData("abcdefghijklmnopq")]
    [InlineData("t\u00e9p")]
    public void A_protocol_that_is_not_a_plain_name_or_number_is_refused(string protocol)
    {
        Assert.Throws<ArgumentException>(() => Any.Protocol(protocol));
        Assert.Throws<ArgumentException>(() => Any.Protocol(protocol, negated: true));
    }

    [Theory]
    [InlineData("tcp")]
    [InlineData("udp")]
    [InlineData("sctp")]
    [InlineData("icmp")]
    [InlineData("icmpv6")]
    [InlineData("udplite")]
    [InlineData("abcdefghijklmnop")]
    [InlineData("1")]
    [InlineData("47")]
    [InlineData("255")]
    public void A_protocol_name_or_number_is_accepted(string protocol) =>
        Assert.Equal($"-p {protocol}", Any.Protocol(protocol).ToString());

    /// <summary>
    /// A protocol is a byte: <c>iptables-restore</c> fails on <c>-p 999</c> with
    /// <c>unknown protocol "999" specified</c>, taking the whole batch with it.
    /// </summary>
    [Theory]
    [InlineData("256")]
    [InlineData("999")]
    public void A_protocol_number_above_255_is_refused(string protocol) =>
        Assert.Throws<ArgumentException>(() => Any.Protocol(protocol));

    [Theory]
    [InlineData("")]
    [InlineData("96:C4:86:4D:D7:2C")]
    [InlineData("96:c4:86:4d:d7:2C")]
    [InlineData("96-c4-86-4d-d7-2c")]
    [InlineData("96c4864dd72c")]
    [InlineData("96:c4:86:4d:d7")]
    [InlineData("96:c4:86:4d:d7:2c:00")]
    [InlineData("96:c4:86:4d:d7:2")]
    [InlineData("6:c4:86:4d:d7:2c")]
    [InlineData("96:c4:86:4d:d7:2g")]
    [InlineData("96:c4:86:4d:d7:2c ")]
    [InlineData(" 96:c4:86:4d:d7:2c")]
    [InlineData("96:c4:86:4d:d7:2c -j ACCEPT")]
    [InlineData("96:c4:86:4d:d7:2c\0")]
    [InlineData("96:c4:86:4d:d7:2c\r")]
    [InlineData("96:c4:86:4d:d7:2c\n-A x")]
    [InlineData("96::c4:86:4d:d7:2c")]
    [InlineData("!96:c4:86:4d:d7:2c")]
    [InlineData("\uff19\uff16:c4:86:4d:d7:2c")]
    public void A_mac_that_is_not_six_lowercase_hex_pairs_is_refused(string mac)
    {
        Assert.Throws<ArgumentException>(() => Any.SourceMac(mac));
        Assert.Throws<ArgumentException>(() => Any.SourceMac(mac, negated: true));
    }

    [Fact]
    public void A_trailing_newline_after_a_protocol_or_a_mac_is_refused()
    {
        // Same cause as the name checks: .NET's '$' also matches before a final newline.
        Assert.Throws<ArgumentException>(() => Any.Protocol("tcp\n"));
        Assert.Throws<ArgumentException>(() => Any.SourceMac("96:c4:86:4d:d7:2c\n"));
    }

    [Fact]
    public void Conntrack_with_no_state_is_refused() =>
        Assert.Throws<ArgumentException>(() => Any.Conntrack(ConntrackStates.None));

    public static TheoryData<PortRange[]> BadPortLists => new()
    {
        Array.Empty<PortRange>(),
        Enumerable.Range(1, 16).Select(p => new PortRange((ushort)p)).ToArray(),
        Enumerable.Range(1, 100).Select(p => new PortRange((ushort)p)).ToArray(),
        Enumerable.Range(0, 8).Select(i => new PortRange((ushort)(i * 10), (ushort)((i * 10) + 5))).ToArray(),
        Enumerable.Range(0, 7).Select(i => new PortRange((ushort)(i * 10), (ushort)((i * 10) + 5)))
            .Concat([new PortRange(100), new PortRange(101)]).ToArray(),
        new[] { new PortRange(8080, 8000) },
        new[] { new PortRange(80), new PortRange(2, 1) },
        new[] { new PortRange(65535, 0) },
    };

    [Theory]
    [MemberData(nameof(BadPortLists))]
    public void A_multiport_list_that_is_empty_too_long_or_reversed_is_refused(PortRange[] ports)
    {
        Assert.Throws<ArgumentException>(() => Tcp.DestPorts(ports));
        Assert.Throws<ArgumentException>(() => Tcp.DestPorts(ports, negated: true));
        Assert.Throws<ArgumentException>(() => Tcp.SourcePorts(ports));
        Assert.Throws<ArgumentException>(() => Tcp.SourcePorts(ports, negated: true));
    }

    [Fact]
    public void Fifteen_single_ports_fill_a_multiport_match()
    {
        var ports = Enumerable.Range(1, 15).Select(p => new PortRange((ushort)p)).ToArray();

        var match = Tcp.DestPorts(ports);

        Assert.Equal("-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15", match.ToString());
    }

    [Fact]
    public void Seven_ranges_and_one_port_take_fifteen_slots_and_are_accepted()
    {
        var ports = Enumerable.Range(0, 7).Select(i => new PortRange((ushort)(i * 10), (ushort)((i * 10) + 5)))
            .Append(new PortRange(100)).ToArray();

        var match = Tcp.SourcePorts(ports, negated: true);

        Assert.Equal("-p tcp -m multiport ! --sports 0:5,10:15,20:25,30:35,40:45,50:55,60:65,100", match.ToString());
    }

    [Fact]
    public void A_range_of_one_port_takes_one_slot()
    {
        // Fifteen "ranges" that are single ports render and count as single ports.
        var ports = Enumerable.Range(1, 15).Select(p => new PortRange((ushort)p, (ushort)p)).ToArray();
        Assert.Equal("-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15", Tcp.DestPorts(ports).ToString());
    }

    [Fact]
    public void A_refused_match_leaves_the_match_it_was_built_on_usable()
    {
        var tcp = Any.Protocol("tcp");

        Assert.Throws<ArgumentException>(() => tcp.IpSet("bad name", SetDirection.Source));

        Assert.Equal("-p tcp", tcp.ToString());
        Assert.Empty(tcp.IpSets);
    }

    [Fact]
    public void Port_and_icmp_matches_need_their_protocol_before_them()
    {
        Assert.Throws<InvalidOperationException>(() => Any.DestPorts([new PortRange(80)]));
        Assert.Throws<InvalidOperationException>(() => Any.Protocol("tcp", negated: true).SourcePorts([new PortRange(80)]));
        Assert.Throws<InvalidOperationException>(() => Any.Protocol("47").DestPorts([new PortRange(80)]));
        Assert.Throws<InvalidOperationException>(() => Tcp.IcmpType(IpVersion.V4, 8, null));
        Assert.Throws<InvalidOperationException>(() => Icmp.IcmpType(IpVersion.V6, 128, null));
        Assert.Throws<InvalidOperationException>(() => Icmp6.IcmpType(IpVersion.V4, 8, null));
        Assert.Equal("-p udp -s 10.0.0.0/8 -m multiport --dports 53", Any.Protocol("udp").SourceNet(System.Net.IPNetwork.Parse("10.0.0.0/8")).DestPorts([new PortRange(53)]).ToString());
    }

    [Fact]
    public void A_second_protocol_is_refused() =>
        Assert.Throws<ArgumentException>(() => Tcp.Protocol("udp", negated: true));
}
