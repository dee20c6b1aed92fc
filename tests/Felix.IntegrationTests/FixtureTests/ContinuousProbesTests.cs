using Felix.IntegrationTests.EndToEnd;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.FixtureTests;

/// <summary>
/// The fault tests' evidence is "no probe saw the wrong thing", so the probes must be shown to see
/// the right thing: on the settled article cluster every path behaves as the model says, and the
/// same samples judged against the opposite expectation are all unexpected.
/// </summary>
[Collection(LiveArticleCluster.Collection)]
public sealed class ContinuousProbesTests
{
    private readonly ITestOutputHelper _output;

    public ContinuousProbesTests(ITestOutputHelper output)
    {
        Require.Root();
        _output = output;
    }

    [Fact]
    public async Task On_the_settled_article_cluster_every_path_is_as_expected_and_the_inverse_expectation_fails_every_probe()
    {
        await using var live = await LiveArticleCluster.StartAsync(_output);
        var paths = ContinuousProbes.ArticlePaths(live.Cluster);
        Assert.Equal(8, paths.Count);
        foreach (var path in paths)
        {
            Assert.Equal(path.Allowed, live.Model.Allows(path.From, path.To, path.Port));
        }

        await using var probes = ContinuousProbes.Start(paths, TimeSpan.FromSeconds(3));
        var report = await probes.StopAsyncAfter(TimeSpan.FromSeconds(3));
        _output.WriteLine(report.Describe());
        report.AssertNoUnexpected("settled cluster");

        var inverted = new ProbeReport(report.Duration,
            [.. report.Paths.Select(p => p with { Path = p.Path with { Allowed = !p.Path.Allowed } })]);
        Assert.Equal(inverted.ProbeCount, inverted.UnexpectedCount);
        Assert.Throws<Xunit.Sdk.TrueException>(() => inverted.AssertNoUnexpected("inverted"));
    }
}
