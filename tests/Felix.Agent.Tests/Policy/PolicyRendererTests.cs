using System.Net;
using Felix.Agent.Calculation;
using Felix.Agent.Model;
using Felix.Agent.Policy;
using Felix.Agent.Tests.Model;
using Felix.Dataplane.Iptables;

namespace Felix.Agent.Tests.Policy;

/// <summary>The renderer's bookkeeping: work and output proportional to what changed.</summary>
public class PolicyRendererTests
{
    private static readonly PolicyConfig Config = new("cali", 0xff000000);

    [Fact]
    public void A_profile_change_re_renders_only_that_profiles_two_chains()
    {
        var renderer = Populated(endpoints: 50, profiles: 10);

        renderer.OnUpdate(Profile("p3", """{"inbound_rules":[{"action":"deny"}]}"""));
        var changes = renderer.Render();

        Assert.Equal(2, changes.ChainsRendered);
        Assert.Equal(["felix-p-p3-i", "felix-p-p3-o"], changes.Filter.Updated.Select(c => c.Name));
        Assert.Empty(changes.Filter.Removed);
        Assert.True(changes.Nat.IsEmpty);
    }

    [Fact]
    public void Rendering_the_same_profile_again_reports_no_change()
    {
        var renderer = Populated(endpoints: 5, profiles: 3);

        renderer.OnUpdate(Profile("p1", Rules(1)));
        var changes = renderer.Render();

        Assert.True(changes.IsEmpty);
        Assert.Equal(2, changes.ChainsRendered);
    }

    [Fact]
    public void Adding_an_endpoint_adds_its_chains_and_its_dispatch_rules()
    {
        var renderer = Populated(endpoints: 5, profiles: 3);

        renderer.OnUpdate(Endpoint(99, "p1"));
        var changes = renderer.Render();

        Assert.Equal(
            ["felix-FROM-ENDPOINT", "felix-TO-ENDPOINT", "felix-from-000000099", "felix-to-000000099"],
            changes.Filter.Updated.Select(c => c.Name));
        ChainReferences.AssertClosed(renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter));
    }

    [Fact]
    public void Changing_an_endpoints_profiles_leaves_the_dispatch_chains_alone()
    {
        var renderer = Populated(endpoints: 5, profiles: 3);

        renderer.OnUpdate(Endpoint(2, "p1", "p2"));
        var changes = renderer.Render();

        Assert.Equal(["felix-from-000000002", "felix-to-000000002"], changes.Filter.Updated.Select(c => c.Name));
    }

    [Fact]
    public void Removing_an_endpoint_removes_its_chains_and_its_dispatch_rules()
    {
        var renderer = Populated(endpoints: 5, profiles: 3);

        renderer.OnUpdate(new EndpointRemove(Key(3)));
        var changes = renderer.Render();

        Assert.Equal(["felix-from-000000003", "felix-to-000000003"], changes.Filter.Removed);
        Assert.Equal(["felix-FROM-ENDPOINT", "felix-TO-ENDPOINT"], changes.Filter.Updated.Select(c => c.Name));
        Assert.DoesNotContain(renderer.Chains(TableName.Filter), c => c.Name.EndsWith("000000003", StringComparison.Ordinal));
    }

    [Fact]
    public void Removing_a_profile_removes_its_chains()
    {
        var renderer = Populated(endpoints: 0, profiles: 3);

        renderer.OnUpdate(new ProfileRemove("p2"));

        Assert.Equal(["felix-p-p2-i", "felix-p-p2-o"], renderer.Render().Filter.Removed);
    }

    [Fact]
    public void A_tree_branch_that_empties_is_removed_and_one_that_changes_is_rewritten()
    {
        var renderer = new PolicyRenderer(IpVersion.V4, Config with { DispatchTreeThreshold = 2 });
        renderer.OnUpdate(Profile("p0", Rules(0)));
        foreach (var i in new[] { 10, 11, 12, 20, 21 })
        {
            renderer.OnUpdate(Endpoint(i, "p0"));
        }
        renderer.Render();
        Assert.Contains(renderer.Chains(TableName.Filter), c => c.Name == "felix-TO-EP-00000002");

        renderer.OnUpdate(new EndpointRemove(Key(20)));
        renderer.OnUpdate(new EndpointRemove(Key(10)));
        var changes = renderer.Render();

        Assert.Contains("felix-TO-EP-00000002", changes.Filter.Removed);
        Assert.Contains("felix-FROM-EP-00000002", changes.Filter.Removed);
        Assert.Contains(changes.Filter.Updated, c => c.Name == "felix-TO-EP-00000001");
        ChainReferences.AssertClosed(renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter));
    }

    [Fact]
    public void Two_endpoints_on_one_interface_the_first_key_owns_it_until_it_goes()
    {
        var renderer = new PolicyRenderer(IpVersion.V4, Config);
        renderer.OnUpdate(Profile("a", Rules(0)));
        renderer.OnUpdate(Profile("b", Rules(1)));
        var first = new EndpointUpdate(new WorkloadEndpointKey("node1", "docker", "w-a", "eth1"), EndpointState.Active,
            "calishared", null, ["a"], [IPNetwork.Parse("10.0.0.1/32")], [], null, null);
        var second = first with { Key = new WorkloadEndpointKey("node1", "docker", "w-b", "eth1"), ProfileIds = ["b"] };
        renderer.OnUpdate(second);
        renderer.OnUpdate(first);
        renderer.Render();
        Assert.Contains("felix-p-a-i", ChainText(renderer, "felix-to-shared"), StringComparison.Ordinal);

        renderer.OnUpdate(new EndpointRemove(first.Key));
        var changes = renderer.Render();

        Assert.Contains("felix-p-b-i", ChainText(renderer, "felix-to-shared"), StringComparison.Ordinal);
        Assert.Empty(changes.Filter.Removed);
        Assert.DoesNotContain(changes.Filter.Updated, c => c.Name == "felix-TO-ENDPOINT");
    }

    [Fact]
    public void Masquerade_is_rendered_only_while_a_pool_of_this_family_masquerades()
    {
        var renderer = new PolicyRenderer(IpVersion.V4, Config);
        renderer.Render();
        var pool = new IpPoolKey(IpVersion.V4, IPNetwork.Parse("10.0.0.0/16"));

        renderer.OnUpdate(new PoolUpdate(pool, new IpPool(pool.Cidr, Masquerade: true)));
        Assert.Single(Assert.Single(renderer.Render().Nat.Updated).Rules);

        renderer.OnUpdate(new PoolUpdate(new IpPoolKey(IpVersion.V6, IPNetwork.Parse("fd00::/64")), new IpPool(IPNetwork.Parse("fd00::/64"), true)));
        Assert.True(renderer.Render().Nat.IsEmpty);

        renderer.OnUpdate(new PoolRemove(pool));
        Assert.Empty(Assert.Single(renderer.Render().Nat.Updated).Rules);
    }

    [Fact]
    public void The_same_updates_in_any_order_render_the_same_chains()
    {
        var updates = new List<DataplaneUpdate>();
        for (var p = 0; p < 6; p++)
        {
            updates.Add(Profile($"p{p}", Rules(p)));
        }
        for (var e = 0; e < 40; e++)
        {
            updates.Add(Endpoint(e, $"p{e % 6}", $"p{(e + 1) % 6}"));
        }
        var expected = RenderedText(updates);
        var random = new Random(1234);

        for (var round = 0; round < 5; round++)
        {
            Assert.Equal(expected, RenderedText([.. updates.OrderBy(_ => random.Next())]));
        }
    }

    [Fact]
    public void Chains_unaffected_by_an_update_are_the_same_instances()
    {
        var renderer = Populated(endpoints: 3, profiles: 2);
        var before = renderer.Chains(TableName.Filter).ToDictionary(c => c.Name);

        renderer.OnUpdate(Profile("p0", """{"inbound_rules":[{"action":"deny"}]}"""));
        renderer.Render();

        var unchanged = renderer.Chains(TableName.Filter).Where(c => !c.Name.StartsWith("felix-p-p0", StringComparison.Ordinal));
        Assert.All(unchanged, c => Assert.Same(before[c.Name], c));
    }

    private static string RenderedText(IEnumerable<DataplaneUpdate> updates)
    {
        var renderer = new PolicyRenderer(IpVersion.V4, Config with { DispatchTreeThreshold = 4 });
        foreach (var update in updates)
        {
            renderer.OnUpdate(update);
        }
        renderer.Render();
        return RestoreScript.Render(TableName.Filter, renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter));
    }

    private static string ChainText(PolicyRenderer renderer, string name) =>
        RestoreScript.Render(TableName.Filter, renderer.Chains(TableName.Filter).Where(c => c.Name == name), []);

    private static PolicyRenderer Populated(int endpoints, int profiles)
    {
        var renderer = new PolicyRenderer(IpVersion.V4, Config);
        for (var p = 0; p < profiles; p++)
        {
            renderer.OnUpdate(Profile($"p{p}", Rules(p)));
        }
        for (var e = 0; e < endpoints; e++)
        {
            renderer.OnUpdate(Endpoint(e, $"p{e % profiles}"));
        }
        renderer.Render();
        return renderer;
    }

    private static string Rules(int port) =>
        $$"""{"inbound_rules":[{"src_tag":"t{{port}}"},{"protocol":"tcp","dst_ports":[{{port + 1}}]}],"outbound_rules":[{}]}""";

    private static ProfileUpdate Profile(string id, string rulesJson) =>
        new(id, ModelTesting.Valid<ProfileRules>(new ProfileRulesKey(id), rulesJson));

    private static WorkloadEndpointKey Key(int i) => new("node1", "docker", $"w{i}", "eth1");

    private static EndpointUpdate Endpoint(int i, params string[] profiles) =>
        new(Key(i), EndpointState.Active, $"cali{i:D9}", "96:c4:86:4d:d7:2c", [.. profiles],
            [IPNetwork.Parse($"10.0.{i / 250}.{i % 250 + 1}/32")], [], null, null);
}
