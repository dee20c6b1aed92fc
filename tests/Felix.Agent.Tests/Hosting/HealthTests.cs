using Felix.Agent.Hosting.Health;

namespace Felix.Agent.Tests.Hosting;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

public class HealthTests
{
    private readonly ManualClock _clock = new();

    [Fact]
    public void With_no_component_the_agent_is_live_but_not_ready()
    {
        var snapshot = new HealthAggregator(_clock).Snapshot();
        Assert.True(snapshot.Live);
        Assert.False(snapshot.Ready);
    }

    [Fact]
    public void Ready_only_when_every_readiness_component_is_ready()
    {
        var health = new HealthAggregator(_clock);
        var datastore = health.Register("datastore", reportsReadiness: true);
        var dataplane = health.Register("dataplane", reportsReadiness: true);
        health.Register("metrics", reportsReadiness: false);

        datastore.Report(live: true, ready: true, "in sync");
        Assert.False(health.Snapshot().Ready);

        dataplane.Report(live: true, ready: true, "applied");
        Assert.True(health.Snapshot().Ready);

        datastore.Report(live: true, ready: false, "etcd unreachable");
        Assert.False(health.Snapshot().Ready);
    }

    [Fact]
    public void A_component_silent_past_its_timeout_is_not_live()
    {
        var health = new HealthAggregator(_clock);
        var loop = health.Register("apply loop", reportsReadiness: true, livenessTimeout: TimeSpan.FromSeconds(30));
        loop.Report(live: true, ready: true, "ok");

        _clock.Advance(TimeSpan.FromSeconds(29));
        Assert.True(health.Snapshot().Live);

        _clock.Advance(TimeSpan.FromSeconds(2));
        var snapshot = health.Snapshot();
        Assert.False(snapshot.Live);
        Assert.False(snapshot.Ready);
        Assert.Contains("no report for 31s", snapshot.Components.Single().Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Endpoints_answer_200_or_503_with_a_reason_per_component()
    {
        var health = new HealthAggregator(_clock);
        var datastore = health.Register("datastore", reportsReadiness: true);
        datastore.Report(live: true, ready: false, "waiting for etcd");

        var live = HealthEndpoints.Respond("GET", "/liveness", health.Snapshot);
        var ready = HealthEndpoints.Respond("GET", "/readiness?verbose=1", health.Snapshot);

        Assert.Equal(200, live.Status);
        Assert.Equal(503, ready.Status);
        Assert.Equal("not ready\ndatastore: live, not ready (waiting for etcd)\n", ready.Body);

        datastore.Report(live: true, ready: true, "in sync");
        Assert.Equal(200, HealthEndpoints.Respond("HEAD", "/readiness", health.Snapshot).Status);
    }

    [Theory]
    [InlineData("GET", "/", 404)]
    [InlineData("GET", "/metrics", 404)]
    [InlineData("POST", "/readiness", 405)]
    public void Other_requests_are_refused(string method, string target, int status)
    {
        var health = new HealthAggregator(_clock);
        Assert.Equal(status, HealthEndpoints.Respond(method, target, health.Snapshot).Status);
    }
}
