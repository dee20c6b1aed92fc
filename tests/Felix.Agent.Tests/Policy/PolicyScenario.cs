using System.Net;
using System.Text;
using Felix.Agent.Calculation;
using Felix.Agent.Model;
using Felix.Agent.Policy;
using Felix.Agent.Tests.Model;
using Felix.Dataplane.Iptables;

namespace Felix.Agent.Tests.Policy;

/// <summary>
/// A set of calculation updates for the renderer, written the way the datastore holds them (rules
/// as etcd JSON, parsed by the real model parser), rendered per family into restore text.
/// </summary>
internal sealed class PolicyScenario
{
    private readonly List<DataplaneUpdate> _updates = [];

    public PolicyConfig Config { get; init; } = new("cali", 0xff000000);

    public PolicyScenario Profile(string id, string rulesJson)
    {
        _updates.Add(new ProfileUpdate(id, ModelTesting.Valid<ProfileRules>(new ProfileRulesKey(id), rulesJson)));
        return this;
    }

    /// <summary>A profile with one inbound rule and no outbound rules.</summary>
    public PolicyScenario ProfileWithInboundRule(string id, string ruleJson) => Profile(id, ModelTesting.OneRule(ruleJson));

    public PolicyScenario MissingProfile(string id)
    {
        _updates.Add(new ProfileUpdate(id, null));
        return this;
    }

    public PolicyScenario Endpoint(string workload, string interfaceName, string[] profiles, string[] ipv4, string[]? ipv6 = null,
        string? mac = null, EndpointState state = EndpointState.Active)
    {
        _updates.Add(new EndpointUpdate(
            new WorkloadEndpointKey("node1", "docker", workload, "eth1"), state, interfaceName, mac,
            [.. profiles], [.. ipv4.Select(a => IPNetwork.Parse(a))], [.. (ipv6 ?? []).Select(a => IPNetwork.Parse(a))],
            null, null));
        return this;
    }

    public PolicyScenario Pool(string cidr, bool masquerade)
    {
        var net = IPNetwork.Parse(cidr);
        var version = net.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? IpVersion.V4 : IpVersion.V6;
        _updates.Add(new PoolUpdate(new IpPoolKey(version, net), new IpPool(net, masquerade)));
        return this;
    }

    public PolicyRenderer Renderer(IpVersion version)
    {
        var renderer = new PolicyRenderer(version, Config);
        foreach (var update in _updates)
        {
            renderer.OnUpdate(update);
        }
        renderer.Render();
        return renderer;
    }

    /// <summary>Both tables with their hooks, as a first start on an empty host would write them.</summary>
    public string RenderAll(IpVersion version)
    {
        var renderer = Renderer(version);
        var text = new StringBuilder();
        foreach (var table in new[] { TableName.Filter, TableName.Nat })
        {
            var chains = renderer.Chains(table);
            ChainReferences.AssertClosed(chains, PolicyRenderer.Hooks(table));
            text.Append(RestoreScript.Render(table, chains, PolicyRenderer.Hooks(table)));
        }
        return text.ToString();
    }

    /// <summary>Only the chains whose names start with <paramref name="prefix"/>, in the filter table.</summary>
    public string RenderFilterChains(IpVersion version, string prefix)
    {
        var renderer = Renderer(version);
        ChainReferences.AssertClosed(renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter));
        var chains = renderer.Chains(TableName.Filter).Where(c => c.Name.StartsWith(prefix, StringComparison.Ordinal));
        return RestoreScript.Render(TableName.Filter, chains, []);
    }
}
