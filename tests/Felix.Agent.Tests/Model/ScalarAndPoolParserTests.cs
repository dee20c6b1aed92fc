using System.Net;
using Felix.Agent.Model;
using static Felix.Agent.Tests.Model.ModelTesting;

namespace Felix.Agent.Tests.Model;

public class ScalarAndPoolParserTests
{
    private static readonly IpPoolKey V4Pool = new(IpVersion.V4, IPNetwork.Parse("10.0.0.0/8"));
    private static readonly IpPoolKey V6Pool = new(IpVersion.V6, IPNetwork.Parse("fd00::/64"));

    [Theory]
    [InlineData("true", true)]
    [InlineData("false", false)]
    public void Ready_is_the_raw_string_true_or_false(string value, bool ready) =>
        Assert.Equal(new ReadyFlag(ready), Valid<ReadyFlag>(new ReadyKey(), value));

    [Theory]
    [InlineData("True", "True is not true or false")]
    [InlineData("\"true\"", "\"\\\"true\\\"\" is not true or false")]
    [InlineData("true\n", "\"true\\n\" is not true or false")]
    [InlineData("", "\"\" is not true or false")]
    public void Anything_else_in_ready_is_invalid(string value, string reason) =>
        Assert.Equal(reason, Reason(new ReadyKey(), value));

    [Fact]
    public void Config_values_are_kept_raw_for_the_config_resolver()
    {
        Assert.Equal(new ConfigValue(" DEBUG "), Valid<ConfigValue>(new GlobalConfigKey("LogSeverityScreen"), " DEBUG "));
        Assert.Equal(new ConfigValue(""), Valid<ConfigValue>(new HostConfigKey("node1", "X"), ""));
    }

    [Fact]
    public void A_host_ip_is_a_strict_ipv4_address()
    {
        Assert.Equal(new HostIp(IPAddress.Parse("192.168.78.21")), Valid<HostIp>(new HostIpKey("node1"), "192.168.78.21"));
        Assert.Equal("010.0.0.1 is not an IPv4 address", Reason(new HostIpKey("node1"), "010.0.0.1"));
        Assert.Equal("1 is not an IPv4 address", Reason(new HostIpKey("node1"), "1"));
        Assert.Equal("fd00::1 is not an IPv4 address", Reason(new HostIpKey("node1"), "fd00::1"));
        Assert.Equal("\"\" is not an IPv4 address", Reason(new HostIpKey("node1"), ""));
    }

    [Fact]
    public void Pools_of_both_families_parse_and_masquerade_defaults_to_false()
    {
        Assert.Equal(
            new IpPool(IPNetwork.Parse("10.0.0.0/8"), true),
            Valid<IpPool>(V4Pool, """{"cidr":"10.0.0.0/8","masquerade":true,"ipip":"tunl0"}"""));
        Assert.Equal(new IpPool(IPNetwork.Parse("fd00::/64"), false), Valid<IpPool>(V6Pool, """{"cidr":"fd00::/64"}"""));
    }

    [Theory]
    [InlineData("""{"masquerade":true}""", "cidr: missing")]
    [InlineData("""{"cidr":"10.0.0.0/8","masquerade":"yes"}""", "masquerade: \"yes\" is not true or false")]
    [InlineData("""{"cidr":"10.0.0.0/16"}""", "cidr: 10.0.0.0/16 is not the network of the key (10.0.0.0/8)")]
    [InlineData("""{"cidr":"10.0.0.1/8"}""", "cidr: 10.0.0.1/8 has host bits set (the network is 10.0.0.0/8)")]
    [InlineData("""{"cidr":"fd00::/8"}""", "cidr: fd00::/8 is not an IPv4 network")]
    [InlineData("""{"cidr":"10.0.0.0/8 "}""", "cidr: \"10.0.0.0/8 \" is not an IPv4 network")]
    [InlineData("""["10.0.0.0/8"]""", "expected a pool object, got a list")]
    public void Invalid_pools_are_rejected(string value, string reason) =>
        Assert.Equal(reason, Reason(V4Pool, value));

    [Fact]
    public void Tags_are_a_list_of_ids_in_order()
    {
        Assert.Equal(new ProfileTags(["db", "db-users"]), Valid<ProfileTags>(new ProfileTagsKey("db"), """["db","db-users"]"""));
        Assert.Equal(new ProfileTags([]), Valid<ProfileTags>(new ProfileTagsKey("db"), "[]"));
        Assert.Equal("tags[1]: \"a b\" is not a valid id (letters, digits, '_', '.', '-'; 1-253 characters)",
            Reason(new ProfileTagsKey("db"), """["db","a b"]"""));
        Assert.Equal("tags: expected a list of ids, got an object", Reason(new ProfileTagsKey("db"), """{"tags":[]}"""));
    }
}
