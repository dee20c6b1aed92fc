using System.Diagnostics;
using System.Net.Sockets;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.FixtureTests;

/// <summary>
/// The article's layout wired by hand with no agent and no iptables: every cell of its matrix is
/// open over both families. This is the baseline the end-to-end tests rely on: the topology itself
/// blocks nothing, so a closed cell there is the agent's policy at work and not the fixture.
/// </summary>
public sealed class ArticleDryRunTests
{
    private readonly ITestOutputHelper _output;

    public ArticleDryRunTests(ITestOutputHelper output)
    {
        Require.Root();
        _output = output;
    }

    [Fact]
    public async Task Without_an_agent_every_cell_of_the_articles_matrix_is_open()
    {
        var clock = Stopwatch.StartNew();
        await using var cluster = await Cluster.StartAsync(hostCount: 2, withEtcd: false);
        var model = await ArticleModel.PlaceAsync(cluster);
        foreach (var workload in model.Workloads)
        {
            await cluster.RouteByHandAsync(workload);
            cluster.Listen(workload);
        }

        await cluster.AddBgpRoutesAsync();
        _output.WriteLine($"2 hosts, 5 workloads routed and listening in {clock.ElapsedMilliseconds} ms");
        var allOpen = model.Expected().With(_ => true);

        foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
        {
            clock.Restart();
            var matrix = await ConnectivityMatrix.WaitUntilMatchesAsync(allOpen, model.Workloads, family, maxAttempts: 3);
            _output.WriteLine($"{matrix.Results.Count} {family} cells probed in {clock.ElapsedMilliseconds} ms");

            Assert.True(matrix.Matches(allOpen), matrix.DescribeDifferences(allOpen));
        }

        _output.WriteLine(model.Expected().Render());
    }
}
