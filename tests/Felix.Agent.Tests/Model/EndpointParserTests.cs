using System.Net;
using Felix.Agent.Model;
using static Felix.Agent.Tests.Model.ModelTesting;

namespace Felix.Agent.Tests.Model;

public class EndpointParserTests
{
    private const string SeedEndpoint = """
        {"state":"active","name":"cali2466cece7bc","mac":"96:C4:86:4D:D7:2C","profile_ids":["db"],
         "ipv4_nets":["192.168.0.1/32"],"ipv6_nets":[],"ipv6_gateway":"fe80::1"}
        """;

    [Fact]
    public void The_seed_endpoint_parses_with_a_lowercase_mac_and_single_address_nets()
    {
        var endpoint = Valid<WorkloadEndpoint>(EndpointKey, SeedEndpoint);

        Assert.Equal(
            new WorkloadEndpoint(
                EndpointState.Active, "cali2466cece7bc", "96:c4:86:4d:d7:2c", ["db"],
                [IPNetwork.Parse("192.168.0.1/32")], [], null, IPAddress.Parse("fe80::1")),
            endpoint);
    }

    [Fact]
    public void Two_parses_of_the_same_value_are_equal() =>
        Assert.Equal(Valid<WorkloadEndpoint>(EndpointKey, SeedEndpoint), Valid<WorkloadEndpoint>(EndpointKey, SeedEndpoint));

    [Fact]
    public void The_legacy_profile_id_is_a_one_element_profile_list()
    {
        var endpoint = Valid<WorkloadEndpoint>(EndpointKey, """{"state":"inactive","name":"cali1","profile_id":"web"}""");

        Assert.Equal(EndpointState.Inactive, endpoint.State);
        Assert.Equal(["web"], endpoint.ProfileIds);
        Assert.Null(endpoint.Mac);
        Assert.Empty(endpoint.Ipv4Nets);
        Assert.Empty(endpoint.Ipv6Nets);
    }

    [Fact]
    public void Profile_order_is_kept_and_unknown_fields_and_nulls_are_ignored()
    {
        var endpoint = Valid<WorkloadEndpoint>(
            EndpointKey,
            """{"state":"active","name":"cali1","profile_ids":["web","db","app"],"mac":null,"labels":{"x":1},"ipv4_gateway":"10.0.0.1"}""");

        Assert.Equal(["web", "db", "app"], endpoint.ProfileIds);
        Assert.Equal(IPAddress.Parse("10.0.0.1"), endpoint.Ipv4Gateway);
    }

    [Fact]
    public void A_bare_address_is_read_as_the_single_address_net()
    {
        var endpoint = Valid<WorkloadEndpoint>(
            EndpointKey, """{"state":"active","name":"cali1","profile_ids":[],"ipv4_nets":["10.1.2.3"],"ipv6_nets":["FD00::1"]}""");

        Assert.Equal([IPNetwork.Parse("10.1.2.3/32")], endpoint.Ipv4Nets);
        Assert.Equal([IPNetwork.Parse("fd00::1/128")], endpoint.Ipv6Nets);
    }

    [Fact]
    public void The_interface_prefix_comes_from_the_options()
    {
        var value = """{"state":"active","name":"tap1234","profile_ids":[]}"""u8;

        Assert.IsType<ValidValue>(ValueParser.Parse(EndpointKey, value, new ModelOptions("tap")));
        Assert.IsType<InvalidValue>(ValueParser.Parse(EndpointKey, value, new ModelOptions("cali")));
    }

    [Theory]
    [InlineData("""[]""", "expected an endpoint object, got a list")]
    [InlineData("""{"name":"cali1","profile_ids":[]}""", "state: missing")]
    [InlineData("""{"state":"up","name":"cali1","profile_ids":[]}""", "state: up is not active or inactive")]
    [InlineData("""{"state":"active","profile_ids":[]}""", "name: missing")]
    [InlineData("""{"state":"active","name":7,"profile_ids":[]}""", "name: expected a string, got a number")]
    [InlineData("""{"state":"active","name":"eth0","profile_ids":[]}""", "name: eth0 does not start with the interface prefix cali")]
    [InlineData("""{"state":"active","name":"cali","profile_ids":[]}""", "name: cali does not start with the interface prefix cali followed by a suffix")]
    [InlineData("""{"state":"active","name":"cali1234567890ab","profile_ids":[]}""", "is longer than 15 characters")]
    [InlineData("""{"state":"active","name":"cali.1","profile_ids":[]}""", "name: cali.1 is not a valid interface name")]
    [InlineData("""{"state":"active","name":"cali1","mac":"96:c4:86:4d:d7","profile_ids":[]}""", "mac: 96:c4:86:4d:d7 is not a MAC address")]
    [InlineData("""{"state":"active","name":"cali1","mac":"96-c4-86-4d-d7-2c","profile_ids":[]}""", "is not a MAC address")]
    [InlineData("""{"state":"active","name":"cali1"}""", "profile_ids: missing")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":"db"}""", "profile_ids: expected a list of ids, got a string")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":["db","a b"]}""", "profile_ids[1]: \"a b\" is not a valid id")]
    [InlineData("""{"state":"active","name":"cali1","profile_id":"db","profile_ids":["db"]}""", "profile_id: given together with profile_ids")]
    [InlineData("""{"state":"active","name":"cali1","profile_id":"x;y"}""", "profile_id: \"x;y\" is not a valid id")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":[],"ipv4_nets":["300.1.2.3/32"]}""", "ipv4_nets[0]: 300.1.2.3/32 is not an IPv4 network")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":[],"ipv4_nets":["fd00::1/128"]}""", "ipv4_nets[0]: fd00::1/128 is not an IPv4 network")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":[],"ipv4_nets":["10.0.0.0/24"]}""", "ipv4_nets[0]: 10.0.0.0/24 is not a single address (/32)")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":[],"ipv6_nets":["fd00::/64"]}""", "ipv6_nets[0]: fd00::/64 is not a single address (/128)")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":[],"ipv6_nets":"fd00::1"}""", "ipv6_nets: expected a list, got a string")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":[],"ipv4_gateway":"fe80::1"}""", "ipv4_gateway: fe80::1 is not an IPv4 address")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":[],"ipv6_gateway":"fe80::1%eth0"}""", "ipv6_gateway: \"fe80::1%eth0\" is not an IPv6 address")]
    [InlineData("""{"state":"active","name":"cali1","name":"cali2","profile_ids":[]}""", "name: given more than once")]
    public void Invalid_endpoints_are_rejected_with_the_field_named(string value, string reason) =>
        Assert.Contains(reason, Reason(EndpointKey, value), StringComparison.Ordinal);
}
