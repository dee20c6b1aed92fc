using System.Net;
using Felix.Dataplane.Iptables;

namespace Felix.Dataplane.Tests.Iptables;

/// <summary>Each match method appends exactly one fixed iptables-restore fragment.</summary>
public class MatchCriteriaRenderingTests
{
    private static readonly MatchCriteria Any = MatchCriteria.Any;
    private static readonly MatchCriteria Tcp = MatchCriteria.Any.Protocol("tcp");
    private static readonly MatchCriteria Icmp = MatchCriteria.Any.Protocol("icmp");
    private static readonly MatchCriteria Icmp6 = MatchCriteria.Any.Protocol("icmpv6");

    public static TheoryData<MatchCriteria, string> SingleFragments => new()
    {
        { Any.SourceNet(IPNetwork.Parse("10.0.0.0/8")), "-s 10.0.0.0/8" },
        { Any.SourceNet(IPNetwork.Parse("10.0.0.0/8"), negated: true), "! -s 10.0.0.0/8" },
        { Any.DestNet(IPNetwork.Parse("fd00::/64")), "-d fd00::/64" },
        { Any.DestNet(IPNetwork.Parse("192.168.1.1/32"), negated: true), "! -d 192.168.1.1/32" },
        { Any.IpSet("felix-v4-x", SetDirection.Source), "-m set --match-set felix-v4-x src" },
        { Any.IpSet("felix-v4-x", SetDirection.Source, negated: true), "-m set ! --match-set felix-v4-x src" },
        { Any.IpSet("felix-v6-y", SetDirection.Destination), "-m set --match-set felix-v6-y dst" },
        { Any.IpSet("felix-v6-y", SetDirection.Destination, negated: true), "-m set ! --match-set felix-v6-y dst" },
        { Tcp.DestPorts([new PortRange(80), new PortRange(8000, 8080)]), "-p tcp -m multiport --dports 80,8000:8080" },
        { Tcp.DestPorts([new PortRange(80), new PortRange(8000, 8080)], negated: true), "-p tcp -m multiport ! --dports 80,8000:8080" },
        { Tcp.SourcePorts([new PortRange(53)]), "-p tcp -m multiport --sports 53" },
        { Tcp.SourcePorts([new PortRange(1024, 65535), new PortRange(0)], negated: true), "-p tcp -m multiport ! --sports 1024:65535,0" },
        { Tcp.DestPorts([new PortRange(443, 443)]), "-p tcp -m multiport --dports 443" },
        { Icmp.IcmpType(IpVersion.V4, 8, 0), "-p icmp -m icmp --icmp-type 8/0" },
        { Icmp.IcmpType(IpVersion.V4, 3, null, negated: true), "-p icmp -m icmp ! --icmp-type 3" },
        { Icmp6.IcmpType(IpVersion.V6, 128, null, negated: true), "-p icmpv6 -m icmp6 ! --icmpv6-type 128" },
        { Icmp6.IcmpType(IpVersion.V6, 1, 4), "-p icmpv6 -m icmp6 --icmpv6-type 1/4" },
        { Any.Mark(0x1000000, 0x1000000), "-m mark --mark 0x1000000/0x1000000" },
        { Any.Mark(0, 0xffffffff, negated: true), "-m mark ! --mark 0x0/0xffffffff" },
        { Any.SourceMac("96:c4:86:4d:d7:2c"), "-m mac --mac-source 96:c4:86:4d:d7:2c" },
        { Any.SourceMac("96:c4:86:4d:d7:2c", negated: true), "-m mac ! --mac-source 96:c4:86:4d:d7:2c" },
        { Any.Conntrack(ConntrackStates.Related | ConntrackStates.Established), "-m conntrack --ctstate RELATED,ESTABLISHED" },
        { Any.Conntrack(ConntrackStates.Invalid), "-m conntrack --ctstate INVALID" },
        { Any.Conntrack(ConntrackStates.Established | ConntrackStates.Invalid | ConntrackStates.Related), "-m conntrack --ctstate INVALID,RELATED,ESTABLISHED" },
        { Any.InInterface("cali+"), "-i cali+" },
        { Any.InInterface("eth0", negated: true), "! -i eth0" },
        { Any.OutInterface("cali1", negated: true), "! -o cali1" },
        { Any.OutInterface("tunl0"), "-o tunl0" },
        { Any.Protocol("tcp"), "-p tcp" },
        { Any.Protocol("47", negated: true), "! -p 47" },
        { Any.Protocol("ipv6icmp"), "-p ipv6icmp" },
    };

    [Theory]
    [MemberData(nameof(SingleFragments))]
    public void Each_method_renders_exactly_its_fragment(MatchCriteria match, string expected)
    {
        Assert.Equal(expected, match.ToString());
        Assert.False(match.IsAny);
    }

    public static TheoryData<string, SetDirection, bool, string> AddressRanges => new()
    {
        { "10.0.0.0/16", SetDirection.Source, true, "-m iprange ! --src-range 10.0.0.0-10.0.255.255" },
        { "10.0.0.0/16", SetDirection.Destination, false, "-m iprange --dst-range 10.0.0.0-10.0.255.255" },
        { "192.168.3.4/32", SetDirection.Source, false, "-m iprange --src-range 192.168.3.4-192.168.3.4" },
        { "172.16.0.0/12", SetDirection.Destination, true, "-m iprange ! --dst-range 172.16.0.0-172.31.255.255" },
        { "0.0.0.0/0", SetDirection.Source, false, "-m iprange --src-range 0.0.0.0-255.255.255.255" },
        { "10.1.2.128/25", SetDirection.Source, false, "-m iprange --src-range 10.1.2.128-10.1.2.255" },
        { "fd00:1::/112", SetDirection.Source, false, "-m iprange --src-range fd00:1::-fd00:1::ffff" },
        { "2001:db8::/33", SetDirection.Destination, true, "-m iprange ! --dst-range 2001:db8::-2001:db8:7fff:ffff:ffff:ffff:ffff:ffff" },
        { "fd00::1/128", SetDirection.Destination, false, "-m iprange --dst-range fd00::1-fd00::1" },
    };

    [Theory]
    [MemberData(nameof(AddressRanges))]
    public void An_address_range_spans_the_first_to_the_last_address_of_the_network(
        string network, SetDirection direction, bool negated, string expected)
    {
        var match = Any.AddressRange(IPNetwork.Parse(network), direction, negated);
        Assert.Equal(expected, match.ToString());
    }

    [Fact]
    public void Any_renders_nothing_and_says_so()
    {
        Assert.Equal(string.Empty, Any.ToString());
        Assert.True(Any.IsAny);
        Assert.Empty(Any.IpSets);
    }

    [Fact]
    public void Fragments_join_with_single_spaces_in_call_order()
    {
        var match = Any
            .Protocol("tcp")
            .InInterface("cali+")
            .SourceNet(IPNetwork.Parse("10.0.0.0/8"), negated: true)
            .DestPorts([new PortRange(80), new PortRange(8000, 8080)])
            .Conntrack(ConntrackStates.Established);

        Assert.Equal(
            "-p tcp -i cali+ ! -s 10.0.0.0/8 -m multiport --dports 80,8000:8080 -m conntrack --ctstate ESTABLISHED",
            match.ToString());
    }

    [Fact]
    public void The_same_calls_in_another_order_render_in_that_order()
    {
        var match = Any.Conntrack(ConntrackStates.Established).InInterface("cali+").Protocol("tcp");
        Assert.Equal("-m conntrack --ctstate ESTABLISHED -i cali+ -p tcp", match.ToString());
    }

    [Fact]
    public void Building_on_a_match_leaves_the_original_unchanged()
    {
        var tcp = Any.Protocol("tcp");
        var tcpToSet = tcp.IpSet("felix-v4-a", SetDirection.Destination);
        var tcpFromEth0 = tcp.InInterface("eth0");

        Assert.Equal("-p tcp", tcp.ToString());
        Assert.Empty(tcp.IpSets);
        Assert.Equal("-p tcp -m set --match-set felix-v4-a dst", tcpToSet.ToString());
        Assert.Equal("-p tcp -i eth0", tcpFromEth0.ToString());
        Assert.Empty(tcpFromEth0.IpSets);
        Assert.True(Any.IsAny);
    }

    [Fact]
    public void IpSets_lists_every_referenced_set_in_the_order_matched()
    {
        var match = Any
            .IpSet("felix-v4-b", SetDirection.Source)
            .Protocol("udp")
            .IpSet("felix-v4-a", SetDirection.Destination, negated: true)
            .IpSet("felix-v4-c", SetDirection.Source);

        Assert.Equal(new[] { "felix-v4-b", "felix-v4-a", "felix-v4-c" }, match.IpSets);
    }

    [Fact]
    public void Matches_that_are_not_ipsets_keep_the_sets_already_listed()
    {
        var match = Any.IpSet("felix-v4-a", SetDirection.Source).Protocol("tcp").Mark(1, 1).InInterface("cali+");
        Assert.Equal(new[] { "felix-v4-a" }, match.IpSets);
    }

    [Fact]
    public void Matches_built_separately_with_the_same_text_are_equal()
    {
        var first = Any.Protocol("tcp").IpSet("felix-v4-a", SetDirection.Source);
        var second = Any.Protocol("tcp").IpSet("felix-v4-a", SetDirection.Source);

        Assert.Equal(first, second);
        Assert.True(first.Equals((object)second));
        Assert.Equal(first.GetHashCode(), second.GetHashCode());
        Assert.NotSame(first, second);
    }

    [Fact]
    public void Matches_with_different_text_are_not_equal()
    {
        var tcpThenSet = Any.Protocol("tcp").IpSet("felix-v4-a", SetDirection.Source);

        Assert.NotEqual(tcpThenSet, Any.IpSet("felix-v4-a", SetDirection.Source).Protocol("tcp"));
        Assert.NotEqual(tcpThenSet, Any.Protocol("tcp").IpSet("felix-v4-a", SetDirection.Source, negated: true));
        Assert.NotEqual(tcpThenSet, Any.Protocol("tcp"));
        Assert.NotEqual(Any, Any.Protocol("tcp"));
        Assert.False(tcpThenSet.Equals(null));
        Assert.False(tcpThenSet.Equals((object)"-p tcp -m set --match-set felix-v4-a src"));
    }
}
