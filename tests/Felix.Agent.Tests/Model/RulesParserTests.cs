using System.Net;
using Felix.Agent.Model;
using static Felix.Agent.Tests.Model.ModelTesting;

namespace Felix.Agent.Tests.Model;

public class RulesParserTests
{
    [Fact]
    public void Missing_rule_lists_are_empty_and_other_top_level_keys_are_ignored()
    {
        Assert.Equal(new ProfileRules([], []), Valid<ProfileRules>(RulesKey, """{"id":"db"}"""));
        Assert.Equal(new ProfileRules([], []), Valid<ProfileRules>(RulesKey, """{"inbound_rules":null,"outbound_rules":[]}"""));
    }

    [Fact]
    public void An_empty_rule_allows_everything() => Assert.Equal(new Rule(), ValidRule("{}"));

    [Fact]
    public void Every_match_field_is_read_into_its_place()
    {
        var rule = ValidRule("""
            {"action":"deny","ip_version":4,"protocol":"udp","src_tag":"a","dst_tag":"b",
             "src_net":"10.1.2.3/16","dst_net":"10.2.0.0/16","src_ports":[53,"1000:2000"],"dst_ports":["8080"]}
            """);

        Assert.Equal(
            new Rule
            {
                Action = RuleAction.Deny,
                IpVersion = IpVersion.V4,
                Match = new RuleMatch
                {
                    Protocol = Protocol.Udp,
                    SrcTag = "a",
                    DstTag = "b",
                    SrcNet = IPNetwork.Parse("10.1.0.0/16"),
                    DstNet = IPNetwork.Parse("10.2.0.0/16"),
                    SrcPorts = [new PortRange(53), new PortRange(1000, 2000)],
                    DstPorts = [new PortRange(8080)],
                },
            },
            rule);
    }

    [Fact]
    public void Every_negated_field_is_read_into_the_not_match()
    {
        var rule = ValidRule("""
            {"protocol":"tcp","!protocol":"udp","!src_tag":"a","!dst_tag":"b","!src_net":"fd00::/64",
             "!dst_net":"fd01::/64","!src_ports":[1],"!dst_ports":["2:3"]}
            """);

        Assert.Equal(
            new RuleMatch
            {
                Protocol = Protocol.Udp,
                SrcTag = "a",
                DstTag = "b",
                SrcNet = IPNetwork.Parse("fd00::/64"),
                DstNet = IPNetwork.Parse("fd01::/64"),
                SrcPorts = [new PortRange(1)],
                DstPorts = [new PortRange(2, 3)],
            },
            rule.NotMatch);
        Assert.Equal(new RuleMatch { Protocol = Protocol.Tcp }, rule.Match);
    }

    [Fact]
    public void Icmp_type_and_code_and_their_negations_are_read()
    {
        var rule = ValidRule("""{"protocol":"icmp","icmp_type":3,"icmp_code":1,"!icmp_type":8,"!icmp_code":0}""");

        Assert.Equal(new RuleMatch { Protocol = Protocol.Icmp, IcmpType = 3, IcmpCode = 1 }, rule.Match);
        Assert.Equal(new RuleMatch { IcmpType = 8, IcmpCode = 0 }, rule.NotMatch);
    }

    [Fact]
    public void A_log_rule_keeps_its_prefix()
    {
        var rule = ValidRule("""{"action":"log","log_prefix":"felix dropped: "}""");

        Assert.Equal(new Rule { Action = RuleAction.Log, LogPrefix = "felix dropped: " }, rule);
    }

    [Theory]
    [InlineData("\"tcp\"", 6)]
    [InlineData("6", 6)]
    [InlineData("\"udplite\"", 136)]
    [InlineData("\"sctp\"", 132)]
    [InlineData("\"icmpv6\"", 58)]
    [InlineData("255", 255)]
    [InlineData("47", 47)]
    public void Protocols_are_names_or_numbers_and_a_number_equals_its_name(string json, int number) =>
        Assert.Equal(new Protocol((byte)number), ValidRule($$"""{"protocol":{{json}}}""").Match.Protocol);

    [Fact]
    public void Ports_are_allowed_with_a_port_protocol_given_by_number() =>
        Assert.Equal([new PortRange(80)], ValidRule("""{"protocol":17,"dst_ports":[80]}""").Match.DstPorts);

    [Theory]
    [InlineData("""{"a":1}""", "inbound_rules[0]: unknown key a")]
    [InlineData("""{"!action":"deny"}""", "inbound_rules[0]: unknown key \"!action\"")]
    [InlineData("""{"action":"accept"}""", "inbound_rules[0].action: accept is not allow, deny or log")]
    [InlineData("""{"ip_version":5}""", "inbound_rules[0].ip_version: 5 is not 4 or 6")]
    [InlineData("""{"ip_version":"4"}""", "inbound_rules[0].ip_version: \"4\" is not 4 or 6")]
    [InlineData("""{"protocol":0}""", "inbound_rules[0].protocol: 0 is not a protocol")]
    [InlineData("""{"protocol":256}""", "inbound_rules[0].protocol: 256 is not a protocol")]
    [InlineData("""{"protocol":"TCP"}""", "inbound_rules[0].protocol: \"TCP\" is not a protocol")]
    [InlineData("""{"!protocol":"tcp; rm"}""", "inbound_rules[0].!protocol: \"tcp; rm\" is not a protocol")]
    [InlineData("""{"src_tag":"a b"}""", "inbound_rules[0].src_tag: \"a b\" is not a valid id")]
    [InlineData("""{"!dst_tag":""}""", "inbound_rules[0].!dst_tag: \"\" is not a valid id")]
    [InlineData("""{"src_net":"10.0.0.0/33"}""", "inbound_rules[0].src_net: 10.0.0.0/33 is not an IPv4 or IPv6 network")]
    [InlineData("""{"protocol":"tcp","dst_ports":[70000]}""", "inbound_rules[0].dst_ports[0]: 70000 is not a port (0-65535)")]
    [InlineData("""{"protocol":"tcp","dst_ports":[-1]}""", "inbound_rules[0].dst_ports[0]: -1 is not a port")]
    [InlineData("""{"protocol":"tcp","dst_ports":[80.5]}""", "inbound_rules[0].dst_ports[0]: 80.5 is not a port")]
    [InlineData("""{"protocol":"tcp","dst_ports":[80,"1:2:3"]}""", "inbound_rules[0].dst_ports[1]: \"1:2:3\" is not a port range")]
    [InlineData("""{"protocol":"tcp","dst_ports":["9:8"]}""", "inbound_rules[0].dst_ports[0]: \"9:8\" is not a port range")]
    [InlineData("""{"protocol":"tcp","src_ports":[]}""", "inbound_rules[0].src_ports: empty list")]
    [InlineData("""{"protocol":"tcp","src_ports":80}""", "inbound_rules[0].src_ports: expected a list, got a number")]
    [InlineData("""{"dst_ports":[80]}""", "inbound_rules[0].dst_ports: ports need protocol tcp, udp, sctp or udplite, but no protocol is given")]
    [InlineData("""{"protocol":"icmp","!src_ports":[80]}""", "inbound_rules[0].!src_ports: ports need protocol tcp, udp, sctp or udplite, but protocol is icmp")]
    [InlineData("""{"!protocol":"tcp","dst_ports":[80]}""", "but no protocol is given")]
    [InlineData("""{"icmp_type":8}""", "inbound_rules[0].icmp_type: needs protocol icmp or icmpv6, but no protocol is given")]
    [InlineData("""{"protocol":"icmp","icmp_code":0}""", "inbound_rules[0].icmp_code: needs icmp_type")]
    [InlineData("""{"protocol":"icmp","icmp_type":8,"!icmp_code":0}""", "inbound_rules[0].!icmp_code: needs !icmp_type")]
    [InlineData("""{"protocol":"icmp","icmp_type":255}""", "inbound_rules[0].icmp_type: 255 is not an ICMP type (0-254)")]
    [InlineData("""{"protocol":"icmp","icmp_type":0,"icmp_code":256}""", "inbound_rules[0].icmp_code: 256 is not an ICMP code (0-255)")]
    [InlineData("""{"ip_version":6,"src_net":"10.0.0.0/8"}""", "inbound_rules[0].src_net: 10.0.0.0/8 is IPv4, which contradicts ip_version 6")]
    [InlineData("""{"src_net":"10.0.0.0/8","!dst_net":"fd00::/8"}""", "inbound_rules[0].!dst_net: fd00::/8 is IPv6, which contradicts src_net 10.0.0.0/8")]
    [InlineData("""{"ip_version":4,"protocol":"icmpv6"}""", "inbound_rules[0].protocol: icmpv6 is IPv6, which contradicts ip_version 4")]
    [InlineData("""{"protocol":"icmp","dst_net":"fd00::/8"}""", "inbound_rules[0].dst_net: fd00::/8 is IPv6, which contradicts protocol icmp")]
    [InlineData("""{"log_prefix":"x"}""", "inbound_rules[0].log_prefix: only allowed with action log")]
    [InlineData("""{"action":"log","log_prefix":"a\"b"}""", "inbound_rules[0].log_prefix: \"a\\\"b\" has a character other than printable ASCII")]
    [InlineData("""{"action":"log","log_prefix":"123456789012345678901234567890"}""", "is not 1-29 characters long")]
    [InlineData("""{"action":"log","log_prefix":"a\nb"}""", "log_prefix: \"a\\nb\" has a character")]
    [InlineData("""{"src_tag":"a","src_tag":"b"}""", "inbound_rules[0].src_tag: given more than once")]
    [InlineData("""[]""", "inbound_rules[0]: expected a rule object, got a list")]
    public void Invalid_rules_make_the_profile_invalid_with_the_field_named(string rule, string reason) =>
        Assert.Contains(reason, RuleReason(rule), StringComparison.Ordinal);

    [Fact]
    public void A_bad_rule_anywhere_names_its_list_and_index() =>
        Assert.Equal(
            "outbound_rules[1].dst_ports[0]: 70000 is not a port (0-65535)",
            Reason(RulesKey, """{"inbound_rules":[{}],"outbound_rules":[{},{"protocol":"tcp","dst_ports":[70000]}]}"""));

    [Theory]
    [InlineData("{}", true, true)]
    [InlineData("""{"ip_version":4}""", true, false)]
    [InlineData("""{"ip_version":6}""", false, true)]
    [InlineData("""{"src_net":"10.0.0.0/8"}""", true, false)]
    [InlineData("""{"!dst_net":"fd00::/8"}""", false, true)]
    [InlineData("""{"protocol":"icmp"}""", true, false)]
    [InlineData("""{"protocol":"icmpv6","icmp_type":128}""", false, true)]
    [InlineData("""{"!protocol":"icmp"}""", true, true)]
    [InlineData("""{"src_tag":"db"}""", true, true)]
    public void A_rule_applies_only_to_the_families_its_matches_allow(string rule, bool v4, bool v6)
    {
        var parsed = ValidRule(rule);

        Assert.Equal(v4, parsed.AppliesTo(IpVersion.V4));
        Assert.Equal(v6, parsed.AppliesTo(IpVersion.V6));
    }

    [Fact]
    public void A_rule_built_with_contradicting_families_applies_to_neither()
    {
        var rule = new Rule { Match = new RuleMatch { SrcNet = IPNetwork.Parse("10.0.0.0/8"), DstNet = IPNetwork.Parse("fd00::/8") } };

        Assert.False(rule.AppliesTo(IpVersion.V4));
        Assert.False(rule.AppliesTo(IpVersion.V6));
    }
}
