using System.Net;
using Felix.Agent.Model;

namespace Felix.Agent.Tests.Model;

public class KeyParserTests
{
    public static TheoryData<string, DatastoreKey> KnownKeys => new()
    {
        { "/calico/v1/Ready", new ReadyKey() },
        { "/calico/v1/config/InterfacePrefix", new GlobalConfigKey("InterfacePrefix") },
        { "/calico/v1/host/node1/config/LogSeverityScreen", new HostConfigKey("node1", "LogSeverityScreen") },
        { "/calico/v1/host/node1.example.com/bird_ip", new HostIpKey("node1.example.com") },
        {
            "/calico/v1/host/node1/workload/docker/74cc20b90b0f/endpoint/eth1",
            new WorkloadEndpointKey("node1", "docker", "74cc20b90b0f", "eth1")
        },
        { "/calico/v1/policy/profile/db-users/rules", new ProfileRulesKey("db-users") },
        { "/calico/v1/policy/profile/db_1.x/tags", new ProfileTagsKey("db_1.x") },
        { "/calico/v1/ipam/v4/pool/10.0.0.0-8", new IpPoolKey(IpVersion.V4, IPNetwork.Parse("10.0.0.0/8")) },
        { "/calico/v1/ipam/v6/pool/fd00:1::-64", new IpPoolKey(IpVersion.V6, IPNetwork.Parse("fd00:1::/64")) },
    };

    [Theory]
    [MemberData(nameof(KnownKeys))]
    public void Every_key_of_the_layout_parses_and_its_path_is_the_key_it_came_from(string path, DatastoreKey expected)
    {
        var key = Assert.IsType<KnownKey>(KeyParser.Parse(path)).Key;

        Assert.Equal(expected, key);
        Assert.Equal(path, key.Path);
    }

    [Theory]
    [InlineData("/calico/v1/Ready", "ready")]
    [InlineData("/calico/v1/config/X", "config")]
    [InlineData("/calico/v1/host/h/config/X", "config")]
    [InlineData("/calico/v1/host/h/bird_ip", "host_ip")]
    [InlineData("/calico/v1/host/h/workload/o/w/endpoint/e", "endpoint")]
    [InlineData("/calico/v1/policy/profile/p/rules", "profile_rules")]
    [InlineData("/calico/v1/policy/profile/p/tags", "profile_tags")]
    [InlineData("/calico/v1/ipam/v4/pool/10.0.0.0-8", "pool")]
    public void Each_key_has_its_metric_kind(string path, string kind) =>
        Assert.Equal(kind, Assert.IsType<KnownKey>(KeyParser.Parse(path)).Key.Kind);

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("/other/v1/Ready")]
    [InlineData("/calico/v1/")]
    [InlineData("/calico/v1/ready")]
    [InlineData("/calico/v1/Ready/")]
    [InlineData("/calico/v2/Ready")]
    [InlineData("/calico/felix/v1/host/node1/status")]
    [InlineData("/calico/felix/v1/host/node1/workload/o/w/endpoint/e")]
    [InlineData("/calico/v1/host/node1/metadata")]
    [InlineData("/calico/v1/host/node1/bird6_ip")]
    [InlineData("/calico/v1/host/node1/workload/o/w/endpoint")]
    [InlineData("/calico/v1/host/node1/workload/o/w/endpoint/e/extra")]
    [InlineData("/calico/v1/policy/profile/db")]
    [InlineData("/calico/v1/policy/profile/db/other")]
    [InlineData("/calico/v1/policy/tier/default/policy/p")]
    [InlineData("/calico/v1/ipam/v4/assignment/10.0.0.1")]
    [InlineData("/calico/v1/ipam/v5/pool/10.0.0.0-8")]
    [InlineData("/calico/v1/ipam/v4/pool/10.0.0.0/8")]
    public void Keys_outside_the_layout_are_unknown(string path) =>
        Assert.IsType<UnknownKey>(KeyParser.Parse(path));

    [Theory]
    [InlineData("/calico/v1/policy/profile/a b/rules", "profile_rules", "profile id: \"a b\" is not a valid id")]
    [InlineData("/calico/v1/policy/profile//tags", "profile_tags", "profile id: \"\" is not a valid id")]
    [InlineData("/calico/v1/policy/profile/$(reboot)/rules", "profile_rules", "profile id: \"$(reboot)\"")]
    [InlineData("/calico/v1/host/node 1/bird_ip", "host_ip", "hostname: \"node 1\" is not a valid id")]
    [InlineData("/calico/v1/host/node1/config/Log;rm", "config", "config name: \"Log;rm\" is not a valid id")]
    [InlineData("/calico/v1/config/a\nb", "config", "config name: \"a\\nb\" is not a valid id")]
    [InlineData("/calico/v1/host/h/workload/o/w/endpoint/e -j ACCEPT", "endpoint", "endpoint id: \"e -j ACCEPT\"")]
    [InlineData("/calico/v1/host/h/workload/o'/w/endpoint/e", "endpoint", "orchestrator id: \"o'\"")]
    [InlineData("/calico/v1/host/h/workload/o/w\"/endpoint/e", "endpoint", "workload id: \"w\\\"\"")]
    [InlineData("/calico/v1/ipam/v4/pool/10.0.0.300-8", "pool", "pool cidr: 10.0.0.300-8 is not an IPv4 network")]
    [InlineData("/calico/v1/ipam/v4/pool/fd00::-64", "pool", "pool cidr: fd00::-64 is not an IPv4 network")]
    [InlineData("/calico/v1/ipam/v6/pool/10.0.0.0-8", "pool", "pool cidr: 10.0.0.0-8 is not an IPv6 network")]
    [InlineData("/calico/v1/ipam/v4/pool/10.0.0.1-8", "pool", "has host bits set (the network is 10.0.0.0-8)")]
    [InlineData("/calico/v1/ipam/v4/pool/10.0.0.0-33", "pool", "is not an IPv4 network")]
    [InlineData("/calico/v1/ipam/v6/pool/FD00::-64", "pool", "is not written canonically (expected fd00::-64)")]
    [InlineData("/calico/v1/ipam/v6/pool/fd00:0::-64", "pool", "is not written canonically (expected fd00::-64)")]
    public void Keys_of_the_layout_with_bad_parts_are_invalid_with_the_part_named(string path, string kind, string reason)
    {
        var invalid = Assert.IsType<InvalidKey>(KeyParser.Parse(path));

        Assert.Equal(kind, invalid.Kind);
        Assert.Contains(reason, invalid.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_of_one_host_share_one_copy_of_its_hostname_orchestrator_and_endpoint_id()
    {
        var first = (WorkloadEndpointKey)((KnownKey)KeyParser.Parse(string.Concat("/calico/v1/host/", "pool-node", "/workload/k8s/a/endpoint/eth0"))).Key;
        var second = (WorkloadEndpointKey)((KnownKey)KeyParser.Parse(string.Concat("/calico/v1/host/", "pool-node", "/workload/k8s/b/endpoint/eth0"))).Key;
        var birdIp = (HostIpKey)((KnownKey)KeyParser.Parse(string.Concat("/calico/v1/host/", "pool-node", "/bird_ip"))).Key;

        Assert.Same(first.Hostname, second.Hostname);
        Assert.Same(first.Hostname, birdIp.Hostname);
        Assert.Same(first.OrchestratorId, second.OrchestratorId);
        Assert.Same(first.EndpointId, second.EndpointId);
        Assert.NotSame(first.WorkloadId, second.WorkloadId);
    }

    [Fact]
    public void An_over_long_id_is_invalid_and_the_reason_does_not_echo_all_of_it()
    {
        var id = new string('a', 254);

        var invalid = Assert.IsType<InvalidKey>(KeyParser.Parse($"/calico/v1/policy/profile/{id}/rules"));

        Assert.Contains("is not a valid id", invalid.Reason, StringComparison.Ordinal);
        Assert.Contains("(254 characters)", invalid.Reason, StringComparison.Ordinal);
        Assert.True(invalid.Reason.Length < 200, invalid.Reason);
        Assert.IsType<KnownKey>(KeyParser.Parse($"/calico/v1/policy/profile/{id[..253]}/rules"));
    }

    [Fact]
    public void Endpoint_keys_share_their_hostname_orchestrator_and_endpoint_id_strings()
    {
        static WorkloadEndpointKey Key(string workload) => Assert.IsType<WorkloadEndpointKey>(Assert.IsType<KnownKey>(
            KeyParser.Parse($"/calico/v1/host/shared-host/workload/k8s/{workload}/endpoint/eth0")).Key);

        var (a, b) = (Key("pod-a"), Key("pod-b"));

        Assert.Same(a.Hostname, b.Hostname);
        Assert.Same(a.OrchestratorId, b.OrchestratorId);
        Assert.Same(a.EndpointId, b.EndpointId);
        Assert.Equal(new WorkloadEndpointKey("shared-host", "k8s", "pod-b", "eth0"), b);
    }
}
