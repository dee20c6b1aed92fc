using System.Net;
using Felix.Agent.Calculation;
using Felix.Agent.Model;
using Felix.Agent.Policy;
using Felix.Dataplane.Iptables;

namespace Felix.Agent.Tests.Policy;

/// <summary>
/// The dispatch tree is re-rendered only along the path of each interface that came or went; these
/// tests hold that shortcut to the definition: after any sequence of changes the chains are exactly
/// those a renderer given only the final endpoints builds from scratch.
/// </summary>
public class DispatchTreeTests
{
    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 3)]
    [InlineData(3, 4)]
    [InlineData(4, 1)]
    public void Incremental_changes_give_the_tree_a_fresh_render_gives(int seed, int threshold)
    {
        var random = new Random(seed);
        var config = new PolicyConfig("cali", 0xff000000) { DispatchTreeThreshold = threshold };
        var renderer = new PolicyRenderer(IpVersion.V4, config);
        renderer.OnUpdate(new ProfileUpdate("p", new ProfileRules([], [])));
        var present = new Dictionary<string, EndpointUpdate>(StringComparer.Ordinal);
        for (var round = 0; round < 300; round++)
        {
            // Batches mostly small (the incremental path), now and then large (the full rebuild).
            var batch = random.Next(10) == 0 ? random.Next(33, 60) : random.Next(1, 5);
            for (var i = 0; i < batch; i++)
            {
                // A small alphabet and short names make deep, crowded trees with names that are prefixes of others.
                var name = "cali" + new string([.. Enumerable.Range(0, random.Next(1, 5)).Select(_ => "01a"[random.Next(3)])]);
                if (present.Remove(name, out var gone))
                {
                    renderer.OnUpdate(new EndpointRemove(gone.Key));
                }
                else
                {
                    var endpoint = Endpoint(name);
                    present[name] = endpoint;
                    renderer.OnUpdate(endpoint);
                }
            }

            renderer.Render();

            Assert.Equal(FromScratch(config, present.Values), Text(renderer));
            ChainReferences.AssertClosed(renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter));
        }
    }

    [Fact]
    public void Adding_one_endpoint_among_many_renders_only_its_path()
    {
        var renderer = new PolicyRenderer(IpVersion.V4, new PolicyConfig("cali", 0xff000000));
        renderer.OnUpdate(new ProfileUpdate("p", new ProfileRules([], [])));
        for (var i = 0; i < 5000; i++)
        {
            renderer.OnUpdate(Endpoint($"cali{i:x11}"));
        }
        renderer.Render();
        var treeChains = renderer.Chains(TableName.Filter).Count(c => c.Name.Contains("-EP", StringComparison.Ordinal));

        renderer.OnUpdate(Endpoint("cali00000000abc"));
        var changes = renderer.Render();

        Assert.True(treeChains > 100, $"the tree has {treeChains} chains");
        // Two endpoint chains, and per direction the root and the few branches on the new name's path.
        Assert.InRange(changes.ChainsRendered, 4, 2 + (2 * 6));
    }

    private static string FromScratch(PolicyConfig config, IEnumerable<EndpointUpdate> endpoints)
    {
        var fresh = new PolicyRenderer(IpVersion.V4, config);
        fresh.OnUpdate(new ProfileUpdate("p", new ProfileRules([], [])));
        foreach (var endpoint in endpoints)
        {
            fresh.OnUpdate(endpoint);
        }
        fresh.Render();
        return Text(fresh);
    }

    private static string Text(PolicyRenderer renderer) =>
        RestoreScript.Render(TableName.Filter, renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter));

    private static EndpointUpdate Endpoint(string interfaceName) =>
        new(new WorkloadEndpointKey("node1", "docker", interfaceName, "eth1"), EndpointState.Active, interfaceName, null,
            ["p"], [IPNetwork.Parse("10.0.0.1/32")], [], null, null);
}
