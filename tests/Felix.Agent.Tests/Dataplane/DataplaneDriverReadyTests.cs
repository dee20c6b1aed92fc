using Felix.Agent.Calculation;
using Felix.Agent.Dataplane;
using Felix.Dataplane.Tests.Fakes;

namespace Felix.Agent.Tests.Dataplane;

/// <summary>
/// What the driver tells systemd and the health endpoint: READY=1 once, only after an apply fully
/// succeeded; STATUS= lines an operator can read; STOPPING=1 on the way out.
/// </summary>
public class DataplaneDriverReadyTests
{
    private static readonly DriverOptions Defaults = new();

    [Fact]
    public async Task Ready_is_sent_once_and_only_after_the_first_successful_apply()
    {
        await using var host = new DriverHarness();
        await host.StartAsync();
        var seed = new SeedCluster();
        var snapshot = seed.Snapshot();

        await host.SendAsync(snapshot.SkipLast(1).ToList());
        Assert.Equal(0, host.Count("READY=1"));
        Assert.False(host.Health.Snapshot().Ready);

        await host.SendAsync(snapshot[^1]);
        Assert.Equal(1, host.Count("READY=1"));
        Assert.True(host.Health.Snapshot().Ready);
        // Sent after the apply, not when in sync arrived: the sets were already there.
        Assert.Equal(["STATUS=waiting for the datastore to be in sync", "READY=1", "STATUS=in sync: 1 local endpoint, 1 profile, 4 sets"],
            host.Notifications);

        // db's container now also carries db-users: it joins that set.
        var change = seed.Put("/calico/v1/policy/profile/db/tags", """["db", "db-users"]""");
        Assert.NotEmpty(change);
        await host.SendAsync(change);
        await host.AdvanceAsync(Defaults.MinApplyInterval);
        Assert.Equal(2, host.Applies);
        Assert.Equal(1, host.Count("READY=1"));
    }

    [Fact]
    public async Task A_failed_first_apply_sends_no_ready_until_its_retry_succeeds()
    {
        await using var host = new DriverHarness();
        await host.StartAsync();
        host.Commands.Iptables.FailNext(1, tool: FakeIptablesTool.Restore);

        await host.SendAsync(new SeedCluster().Snapshot());

        Assert.Equal(1, host.Applies);
        Assert.Equal(0, host.Count("READY=1"));
        Assert.False(host.Health.Snapshot().Ready);
        Assert.Equal("not ready: the last apply failed (iptables failed); retrying", host.StatusLines[^1]);

        await host.AdvanceAsync(Defaults.InitialRetryDelay);

        Assert.Equal(2, host.Applies);
        Assert.Equal(1, host.Count("READY=1"));
        Assert.True(host.Health.Snapshot().Ready);
        Assert.Equal("in sync: 1 local endpoint, 1 profile, 4 sets", host.StatusLines[^1]);
    }

    [Fact]
    public async Task Status_lines_count_the_local_endpoints_active_profiles_and_tag_sets()
    {
        await using var host = new DriverHarness();
        await host.StartAsync();
        var seed = new SeedCluster();
        await host.SendAsync(seed.Snapshot());

        // A web container on node1: one more endpoint, profile web, and web's tag sets (v4 and v6).
        await host.SendAsync(seed.Put("/calico/v1/host/node1/workload/docker/container3/endpoint/8a1b2c3d4e5",
            """{"state":"active","name":"cali8a1b2c3d4e5","mac":"96:c4:86:4d:d7:2e","profile_ids":["web"],"ipv4_nets":["192.168.0.3/32"],"ipv6_nets":[]}"""));
        await host.AdvanceAsync(Defaults.MinApplyInterval);

        Assert.Equal(["waiting for the datastore to be in sync", "in sync: 1 local endpoint, 1 profile, 4 sets", "in sync: 2 local endpoints, 2 profiles, 6 sets"],
            host.StatusLines);

        // A failure after ready keeps saying in sync, and which part failed.
        host.Commands.Ipset.FailNext(1, command: "restore");
        var change = seed.Put("/calico/v1/policy/profile/web/tags", """["web", "db"]""");
        Assert.NotEmpty(change);
        await host.SendAsync(change);
        await host.AdvanceAsync(Defaults.MinApplyInterval);

        Assert.Equal("in sync: the last apply failed (ipsets failed); retrying", host.StatusLines[^1]);
    }

    [Fact]
    public async Task Stopping_is_sent_when_the_host_stops_the_driver()
    {
        var host = new DriverHarness();
        await host.StartAsync();
        await host.SendAsync(new InSync());

        await host.DisposeAsync();

        Assert.Equal("STOPPING=1", host.Notifications[^1]);
        Assert.True(host.Driver.ExecuteTask!.IsCompletedSuccessfully);
    }
}
