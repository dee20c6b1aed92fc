using System.Net;
using Felix.Agent.Model;

namespace Felix.Agent.Tests.Model;

/// <summary>The sync decides "changed or not" with Equals, so lists must compare by content.</summary>
public class RecordEqualityTests
{
    [Fact]
    public void Lists_compare_by_their_elements_in_order()
    {
        EquatableList<int> a = [1, 2, 3];
        EquatableList<int> b = [1, 2, 3];

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, [3, 2, 1]);
        Assert.NotEqual(a, [1, 2]);
        Assert.Equal("[1, 2, 3]", a.ToString());
    }

    [Fact]
    public void Records_holding_lists_are_equal_whatever_list_they_were_built_from()
    {
        var fromList = new ProfileRules(new List<Rule> { new() { Action = RuleAction.Deny } }, []);
        var fromArray = new ProfileRules(new[] { new Rule { Action = RuleAction.Deny } }, new List<Rule>());

        Assert.Equal(fromList, fromArray);
        Assert.Equal(fromList.GetHashCode(), fromArray.GetHashCode());
        Assert.Equal(new ProfileTags(["a", "b"]), new ProfileTags(new List<string> { "a", "b" }));
        Assert.NotEqual(new ProfileTags(["a", "b"]), new ProfileTags(["b", "a"]));
    }

    [Fact]
    public void A_record_keeps_its_own_copy_of_the_list_it_was_given()
    {
        var ids = new List<string> { "db" };
        var endpoint = new WorkloadEndpoint(EndpointState.Active, "cali1", null, ids, [], [], null, null);

        ids.Add("web");

        Assert.Equal(["db"], endpoint.ProfileIds);
        Assert.Equal(["db", "web"], (endpoint with { ProfileIds = ids }).ProfileIds);
        Assert.IsType<EquatableList<string>>((endpoint with { ProfileIds = ids }).ProfileIds);
    }

    [Fact]
    public void Endpoints_compare_by_value_including_their_nets_and_gateways()
    {
        WorkloadEndpoint Make() => new(
            EndpointState.Active, "cali1", "96:c4:86:4d:d7:2c", ["db"],
            [IPNetwork.Parse("192.168.0.1/32")], [IPNetwork.Parse("fd00::1/128")],
            IPAddress.Parse("192.168.0.254"), IPAddress.Parse("fe80::1"));

        Assert.Equal(Make(), Make());
        Assert.Equal(Make().GetHashCode(), Make().GetHashCode());
        Assert.NotEqual(Make(), Make() with { Ipv6Gateway = null });
    }

    [Fact]
    public void Rules_with_equal_port_lists_are_equal()
    {
        Rule Make() => new() { Match = new RuleMatch { Protocol = Protocol.Tcp, DstPorts = [new PortRange(80), new PortRange(8000, 8080)] } };

        Assert.Equal(Make(), Make());
        Assert.Equal(Make().GetHashCode(), Make().GetHashCode());
    }

    [Fact]
    public void An_endpoint_key_keeps_the_path_it_was_parsed_from_and_compares_by_its_parts()
    {
        var path = string.Concat("/calico/v1/host/node1/workload/k8s/", "pod-1/endpoint/eth0");
        var parsed = Assert.IsType<WorkloadEndpointKey>(Assert.IsType<KnownKey>(KeyParser.Parse(path)).Key);
        var built = new WorkloadEndpointKey("node1", "k8s", "pod-1", "eth0");

        Assert.Same(path, parsed.Path);
        Assert.Equal(built, parsed);
        Assert.Equal(built.GetHashCode(), parsed.GetHashCode());
        Assert.Equal(path, built.Path);
        Assert.NotEqual(built, built with { EndpointId = "eth1" });
    }

    [Fact]
    public void An_endpoint_key_changed_with_with_has_its_own_path()
    {
        var parsed = Assert.IsType<WorkloadEndpointKey>(Assert.IsType<KnownKey>(KeyParser.Parse("/calico/v1/host/node1/workload/k8s/pod-1/endpoint/eth0")).Key);

        var moved = parsed with { Hostname = "node2" };

        Assert.Equal("/calico/v1/host/node2/workload/k8s/pod-1/endpoint/eth0", moved.Path);
        Assert.Equal("/calico/v1/host/node1/workload/k8s/pod-1/endpoint/eth0", parsed.Path);
    }
}
