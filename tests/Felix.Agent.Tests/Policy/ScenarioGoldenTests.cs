using System.Net;
using Felix.Agent.Hosting.Configuration;
using Felix.Agent.Model;
using Felix.Agent.Policy;

namespace Felix.Agent.Tests.Policy;

/// <summary>Whole-table golden files for the cases an operator meets beyond the article's.</summary>
public class ScenarioGoldenTests
{
    private const string AllowFromSelf = """{"inbound_rules":[{"src_tag":"db"}],"outbound_rules":[{}]}""";

    [Fact]
    public void Ids_too_long_or_starting_with_underscore_are_hashed_in_chain_and_set_names()
    {
        var longId = "a-profile-id-longer-than-sixteen";
        var text = new PolicyScenario()
            .Profile(longId, """{"inbound_rules":[{"src_tag":"a-tag-that-is-also-too-long"},{"src_tag":"_hidden"}]}""")
            .Profile("_x", "{}")
            .Endpoint("w1", "cali1234567890a", [longId, "_x"], ["10.0.0.1/32"])
            .RenderAll(IpVersion.V4);

        Golden.Matches("long-ids.v4.rules", text);
        Assert.Contains($"-j {PolicyNames.ProfileChain(longId, PolicyDirection.Inbound)}", text, StringComparison.Ordinal);
        Assert.DoesNotContain(longId, text.Replace("profile " + longId, "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void Ipv6_endpoint_gets_v6_anti_spoofing_and_sets()
    {
        var text = new PolicyScenario()
            .Profile("db", AllowFromSelf)
            .Endpoint("w1", "cali2466cece7bc", ["db"], ["192.168.0.1/32"], ["fd00::1/128"], mac: "96:c4:86:4d:d7:2c")
            .RenderAll(IpVersion.V6);

        Golden.Matches("ipv6-endpoint.v6.rules", text);
    }

    [Fact]
    public void Endpoint_with_several_addresses_accepts_any_of_them_as_source()
    {
        var text = new PolicyScenario()
            .Profile("db", AllowFromSelf)
            .Endpoint("w1", "cali2466cece7bc", ["db"], ["192.168.0.1/32", "192.168.0.7/32", "192.168.0.9/32"])
            .RenderAll(IpVersion.V4);

        Golden.Matches("several-addresses.v4.rules", text);
    }

    [Fact]
    public void Inactive_endpoint_chains_drop_everything()
    {
        var text = new PolicyScenario()
            .Profile("db", AllowFromSelf)
            .Endpoint("w1", "cali2466cece7bc", ["db"], ["192.168.0.1/32"], state: EndpointState.Inactive)
            .RenderAll(IpVersion.V4);

        Golden.Matches("inactive-endpoint.v4.rules", text);
    }

    [Fact]
    public void Missing_profile_gets_a_stub_that_drops_everything()
    {
        var text = new PolicyScenario()
            .Profile("db", AllowFromSelf)
            .MissingProfile("gone")
            .Endpoint("w1", "cali2466cece7bc", ["db", "gone"], ["192.168.0.1/32"])
            .RenderAll(IpVersion.V4);

        Golden.Matches("missing-profile.v4.rules", text);
    }

    [Theory]
    [InlineData(EndpointToHostAction.Drop)]
    [InlineData(EndpointToHostAction.Accept)]
    [InlineData(EndpointToHostAction.Return)]
    public void Endpoint_to_host_action_decides_the_end_of_felix_INPUT(EndpointToHostAction action)
    {
        var text = new PolicyScenario { Config = new PolicyConfig("cali", 0xff000000) { EndpointToHostAction = action } }
            .Profile("db", AllowFromSelf)
            .Endpoint("w1", "cali2466cece7bc", ["db"], ["192.168.0.1/32"])
            .RenderAll(IpVersion.V4);

        Golden.Matches($"endpoint-to-host-{action.ToString().ToLowerInvariant()}.v4.rules", text);
    }

    [Fact]
    public void No_metadata_allowance_when_metadata_is_none_and_mark_follows_the_mask()
    {
        var config = new PolicyConfig("tap", 0x00f00000) { MetadataAddress = null };
        var text = new PolicyScenario { Config = config }
            .Profile("db", AllowFromSelf)
            .Endpoint("w1", "tap0", ["db"], ["192.168.0.1/32"])
            .RenderAll(IpVersion.V4);

        Golden.Matches("no-metadata-other-prefix-and-mask.v4.rules", text);
        Assert.DoesNotContain("8775", text, StringComparison.Ordinal);
        Assert.Contains("--set-xmark 0x100000/0x100000", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Ipv6_metadata_address_is_allowed_in_ipv6_only()
    {
        var config = new PolicyConfig("cali", 0xff000000) { MetadataAddress = IPAddress.Parse("fd00::a9fe:a9fe"), MetadataPort = 80 };
        var scenario = new PolicyScenario { Config = config };

        Assert.Contains("-d fd00::a9fe:a9fe/128 -m multiport --dports 80", scenario.RenderAll(IpVersion.V6), StringComparison.Ordinal);
        Assert.DoesNotContain("Metadata", scenario.RenderAll(IpVersion.V4), StringComparison.Ordinal);
    }

    [Fact]
    public void Masquerade_pools_turn_on_nat_outgoing_per_family()
    {
        var scenario = new PolicyScenario()
            .Pool("10.0.0.0/16", masquerade: false)
            .Pool("fd00:1::/64", masquerade: true);

        Golden.Matches("nat-outgoing.v6.rules", scenario.RenderAll(IpVersion.V6));
        Assert.DoesNotContain("MASQUERADE", scenario.RenderAll(IpVersion.V4), StringComparison.Ordinal);
    }

    [Fact]
    public void Many_endpoints_dispatch_through_a_tree_by_interface_name()
    {
        var scenario = new PolicyScenario { Config = new PolicyConfig("cali", 0xff000000) { DispatchTreeThreshold = 3 } }
            .Profile("db", AllowFromSelf);
        string[] interfaces = ["cali1", "cali10", "cali11", "cali12", "cali13", "cali2", "cali3a", "cali3b", "calix"];
        foreach (var (name, i) in interfaces.Select((n, i) => (n, i)))
        {
            scenario.Endpoint($"w{i}", name, ["db"], [$"10.0.0.{i + 1}/32"]);
        }

        var text = scenario.RenderAll(IpVersion.V4);

        Golden.Matches("dispatch-tree.v4.rules", text);
        Assert.Contains("-A felix-TO-ENDPOINT -o cali1+ -g felix-TO-EP-1\n", text, StringComparison.Ordinal);
        Assert.Contains("-A felix-TO-EP-1 -o cali1 -g felix-to-1\n", text, StringComparison.Ordinal);
        Assert.Contains("-A felix-FROM-EP-1 -i cali10 -g felix-from-10\n", text, StringComparison.Ordinal);
    }
}
