namespace Felix.Agent.Tests.Policy;

/// <summary>
/// One golden file per rule field and per negation: a profile with just that rule, rendered for
/// the family named in the file. Reviewing these files is reviewing what each field of the v1
/// language means in the kernel; a case that renders nothing for a family (a rule for the other
/// family, a contradiction) has a golden file with an empty chain, which is the point.
/// </summary>
public class RuleFieldGoldenTests
{
    [Theory]
    [InlineData("protocol-name", IpVersion.V4, """{"protocol":"udp"}""")]
    [InlineData("protocol-number", IpVersion.V4, """{"protocol":47}""")]
    [InlineData("protocol-number", IpVersion.V6, """{"protocol":47}""")]
    [InlineData("not-protocol", IpVersion.V4, """{"!protocol":"tcp"}""")]
    [InlineData("protocol-and-not-protocol", IpVersion.V4, """{"protocol":"tcp","!protocol":"udp"}""")]
    [InlineData("protocol-contradiction", IpVersion.V4, """{"protocol":"tcp","!protocol":"tcp"}""")]
    [InlineData("src-tag", IpVersion.V4, """{"src_tag":"web"}""")]
    [InlineData("src-tag", IpVersion.V6, """{"src_tag":"web"}""")]
    [InlineData("not-src-tag", IpVersion.V4, """{"!src_tag":"web"}""")]
    [InlineData("not-src-tag", IpVersion.V6, """{"!src_tag":"web"}""")]
    [InlineData("dst-tag", IpVersion.V4, """{"dst_tag":"web"}""")]
    [InlineData("not-dst-tag", IpVersion.V4, """{"!dst_tag":"web"}""")]
    [InlineData("src-net", IpVersion.V4, """{"src_net":"10.1.0.0/16"}""")]
    [InlineData("src-net", IpVersion.V6, """{"src_net":"10.1.0.0/16"}""")]
    [InlineData("not-src-net", IpVersion.V4, """{"!src_net":"10.1.0.0/16"}""")]
    [InlineData("dst-net", IpVersion.V4, """{"dst_net":"fd00:1::/64"}""")]
    [InlineData("dst-net", IpVersion.V6, """{"dst_net":"fd00:1::/64"}""")]
    [InlineData("not-dst-net", IpVersion.V4, """{"!dst_net":"10.1.2.3/32"}""")]
    [InlineData("not-src-net-everything", IpVersion.V4, """{"!src_net":"0.0.0.0/0"}""")]
    [InlineData("not-dst-net-everything", IpVersion.V6, """{"action":"deny","protocol":"tcp","!dst_net":"::/0"}""")]
    [InlineData("not-src-net-covering-src-net", IpVersion.V4, """{"src_net":"10.1.0.0/16","!src_net":"10.0.0.0/8"}""")]
    [InlineData("src-net-and-not-src-net", IpVersion.V4, """{"src_net":"10.0.0.0/8","!src_net":"10.1.0.0/16"}""")]
    [InlineData("dst-net-and-not-dst-net", IpVersion.V6, """{"dst_net":"fd00::/16","!dst_net":"fd00:1::/64"}""")]
    [InlineData("src-ports", IpVersion.V4, """{"protocol":"tcp","src_ports":[1024,"2000:3000"]}""")]
    [InlineData("not-src-ports", IpVersion.V4, """{"protocol":"udp","!src_ports":[53]}""")]
    [InlineData("dst-ports", IpVersion.V4, """{"protocol":"sctp","dst_ports":[80,443,"8000:8080"]}""")]
    [InlineData("not-dst-ports", IpVersion.V4, """{"protocol":"udplite","!dst_ports":["1:1023"]}""")]
    [InlineData("icmp-type", IpVersion.V4, """{"protocol":"icmp","icmp_type":8}""")]
    [InlineData("icmp-type", IpVersion.V6, """{"protocol":"icmp","icmp_type":8}""")]
    [InlineData("icmp-code", IpVersion.V4, """{"protocol":"icmp","icmp_type":3,"icmp_code":4}""")]
    [InlineData("not-icmp-type", IpVersion.V4, """{"protocol":"icmp","!icmp_type":8}""")]
    [InlineData("not-icmp-code", IpVersion.V4, """{"protocol":"icmp","!icmp_type":3,"!icmp_code":1}""")]
    [InlineData("icmpv6-type", IpVersion.V4, """{"protocol":"icmpv6","icmp_type":128,"icmp_code":0}""")]
    [InlineData("icmpv6-type", IpVersion.V6, """{"protocol":"icmpv6","icmp_type":128,"icmp_code":0}""")]
    [InlineData("ip-version-6", IpVersion.V4, """{"ip_version":6,"action":"deny"}""")]
    [InlineData("ip-version-6", IpVersion.V6, """{"ip_version":6,"action":"deny"}""")]
    [InlineData("action-deny", IpVersion.V4, """{"action":"deny","src_net":"10.9.0.0/16"}""")]
    [InlineData("action-log", IpVersion.V4, """{"action":"log","log_prefix":"db-audit: "}""")]
    [InlineData("action-log-default-prefix", IpVersion.V4, """{"action":"log","protocol":"tcp"}""")]
    [InlineData("40-ports", IpVersion.V4, """{"protocol":"tcp","dst_ports":[8000,8001,8002,8003,8004,8005,8006,8007,8008,8009,8010,8011,8012,8013,8014,8015,8016,8017,8018,8019,8020,8021,8022,8023,8024,8025,8026,8027,8028,8029,8030,8031,8032,8033,8034,8035,8036,8037,8038,8039]}""")]
    [InlineData("40-ports-negated", IpVersion.V4, """{"protocol":"tcp","!dst_ports":[8000,8001,8002,8003,8004,8005,8006,8007,8008,8009,8010,8011,8012,8013,8014,8015,8016,8017,8018,8019,8020,8021,8022,8023,8024,8025,8026,8027,8028,8029,8030,8031,8032,8033,8034,8035,8036,8037,8038,8039]}""")]
    [InlineData("ranges-count-two", IpVersion.V4, """{"protocol":"tcp","src_ports":["9000:9005","9010:9015","9020:9025","9030:9035","9040:9045","9050:9055","9060:9065","9070:9075","9080:9085","9090:9095"],"dst_ports":[22,"9000:9005","9010:9015","9020:9025","9030:9035","9040:9045","9050:9055","9060:9065","9070:9075","9080:9085","9090:9095"]}""")]
    [InlineData("every-field", IpVersion.V4, """{"action":"allow","ip_version":4,"protocol":"tcp","src_tag":"a","dst_tag":"b","src_net":"10.0.0.0/8","dst_net":"10.2.0.0/16","src_ports":[1000],"dst_ports":[80,443],"!src_tag":"c","!dst_tag":"d","!src_net":"10.1.0.0/16","!dst_net":"10.2.3.0/24","!src_ports":[1001],"!dst_ports":[81]}""")]
    [InlineData("every-field", IpVersion.V6, """{"action":"allow","ip_version":4,"protocol":"tcp","src_tag":"a","dst_tag":"b","src_net":"10.0.0.0/8","dst_net":"10.2.0.0/16","src_ports":[1000],"dst_ports":[80,443],"!src_tag":"c","!dst_tag":"d","!src_net":"10.1.0.0/16","!dst_net":"10.2.3.0/24","!src_ports":[1001],"!dst_ports":[81]}""")]
    public void Rule_renders_as_in_its_golden_file(string name, IpVersion version, string ruleJson)
    {
        var text = new PolicyScenario().ProfileWithInboundRule("p", ruleJson).RenderFilterChains(version, "felix-p-");

        Golden.Matches($"rule-{name}.v{(int)version}.rules", text);
    }
}
