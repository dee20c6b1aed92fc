using System.Net;
using Felix.Dataplane.Netlink;
using Microsoft.Extensions.Logging;
using static Felix.Dataplane.Tests.Routes.RouteTableHarness;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>
/// What a refresh asks the kernel about links: nothing when the routes it dumped vouch for them,
/// a lookup of each link they do not, and a listing of every link only after lost events or a failure.
/// </summary>
public sealed partial class RouteTableTests
{
    [Fact]
    public async Task A_refresh_that_finds_every_route_in_place_neither_lists_nor_looks_up_a_link()
    {
        _harness.Netlink.AddLink("cali1");
        _harness.Netlink.AddLink("cali2");
        _harness.Netlink.AddLink("eth0");
        _harness.Netlink.AddConnectedNetwork("eth0", IPNetwork.Parse("192.168.1.0/24"));
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2"));
        table.SetRoutes("cali2", Nets("10.65.0.3"));
        table.SetRemoteRoutes("host2/k8s/pod/eth0", Nets("10.70.0.5"), IPAddress.Parse("192.168.1.2"));
        await ApplyAsync(table);

        _harness.Clock.Advance(Options.RefreshInterval);
        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Empty(steps);
        Assert.Equal(2, _harness.Netlink.ListRoutesCalls);
        Assert.Equal(1, _harness.Netlink.ListLinksCalls);
        Assert.Empty(_harness.Netlink.LinkLookups);
        Assert.Equal(2, _harness.Metric("felix_route_table_list_seconds_count{ip_version=\"4\"}"));
    }

    [Fact]
    public async Task A_link_that_appeared_unannounced_is_looked_up_by_name_at_the_refresh_and_routed()
    {
        _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        table.SetRoutes("cali2", Nets("10.65.0.2"));
        await ApplyAsync(table);
        _harness.Netlink.EmitEvents = false;
        var cali2 = _harness.Netlink.AddLink("cali2");

        _harness.Clock.Advance(Options.RefreshInterval);
        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Equal([$"add 10.65.0.2/32 dev {cali2} scope link proto 80"], steps);
        Assert.Equal([LinkKey.ByName("cali2")], _harness.Netlink.LinkLookups);
        Assert.Equal(1, _harness.Netlink.ListLinksCalls);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_link_that_went_down_or_away_unannounced_is_found_by_the_refresh_which_waits_for_it(bool deleted)
    {
        var before = _harness.Netlink.AddLink("cali1");
        var cali2 = _harness.Netlink.AddLink("cali2");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        table.SetRoutes("cali2", Nets("10.65.0.2"));
        await ApplyAsync(table);
        _harness.Netlink.EmitEvents = false;
        if (deleted)
        {
            _harness.Netlink.DeleteLink("cali1");
        }
        else
        {
            _harness.Netlink.SetLinkState("cali1", up: false);
        }

        _harness.Clock.Advance(Options.RefreshInterval);
        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Empty(steps);
        Assert.False(table.HasPendingWork);
        Assert.DoesNotContain(_harness.Log.Entries, e => e.Level >= LogLevel.Warning);
        // By name, as a wanted interface; by index, as the link our route was recorded through.
        Assert.Equal([LinkKey.ByName("cali1"), LinkKey.ByIndex(before)], _harness.Netlink.LinkLookups);
        Assert.Equal([$"10.65.0.2/32 dev {cali2} scope link proto 80"], _harness.OurRoutes());

        var cali1 = deleted ? _harness.Netlink.AddLink("cali1") : _harness.Netlink.IndexOf("cali1");
        if (!deleted)
        {
            _harness.Netlink.SetLinkState("cali1", up: true);
        }
        _harness.Clock.Advance(Options.RefreshInterval);
        await ApplyAsync(table);
        Assert.Equal($"10.65.0.1/32 dev {cali1} scope link proto 80", _harness.RouteTo("10.65.0.1/32"));
        Assert.Equal(1, _harness.Netlink.ListLinksCalls);
    }

    [Fact]
    public async Task A_route_of_ours_out_of_a_link_no_wanted_interface_vouches_for_is_looked_up_by_index()
    {
        var cali1 = _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(table);
        _harness.Netlink.EmitEvents = false;
        _harness.Netlink.DeleteLink("cali1");
        var recreated = _harness.Netlink.AddLink("cali1");
        // Someone put the route back on the new link before the refresh: it is in step, once the table knows which link that is.
        _harness.Netlink.AddRouteByHand(new RouteSpec(IPNetwork.Parse("10.65.0.1/32"), recreated, null, false, RouteScope.Link, 80));

        _harness.Clock.Advance(Options.RefreshInterval);
        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Empty(steps);
        Assert.NotEqual(cali1, recreated);
        Assert.Equal([LinkKey.ByName("cali1"), LinkKey.ByIndex(recreated), LinkKey.ByIndex(cali1)], _harness.Netlink.LinkLookups);
        Assert.Empty(_harness.Conntrack.Calls);
        Assert.False(table.HasPendingWork);
    }

    [Fact]
    public async Task After_a_refused_request_the_read_back_before_the_next_attempt_lists_every_link()
    {
        _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        var refusals = 1;
        _harness.Netlink.Refuse = r => r is AddRoute && refusals-- > 0 ? Fakes.FakeRouteNetlink.Error(1) : null;

        await ApplyAsync(table);

        Assert.Equal(2, _harness.Netlink.ListLinksCalls);
        Assert.NotNull(_harness.RouteTo("10.65.0.1/32"));
    }

    [Fact]
    public async Task A_failed_lookup_fails_the_read_back_and_the_retry_lists_every_link()
    {
        var table = _harness.NewTable();
        table.SetRoutes("cali2", Nets("10.65.0.2"));
        await ApplyAsync(table);
        // Not pumped: unheard of, so the refresh looks it up, and that lookup fails.
        var cali2 = _harness.Netlink.AddLink("cali2");
        _harness.Netlink.FailNextLookups(1);
        _harness.Clock.Advance(Options.RefreshInterval);

        await ApplyAsync(table);

        Assert.Equal(2, _harness.Netlink.ListLinksCalls);
        Assert.Equal($"10.65.0.2/32 dev {cali2} scope link proto 80", _harness.RouteTo("10.65.0.2/32"));
        Assert.Contains(_harness.Log.Entries, e => e.Message.StartsWith("routes (IPv4): reading back links and routes failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_remote_route_is_recorded_on_the_link_the_kernel_chose_so_that_link_going_down_unheard_of_is_looked_up()
    {
        var eth0 = _harness.Netlink.AddLink("eth0");
        _harness.Netlink.AddConnectedNetwork("eth0", IPNetwork.Parse("192.168.1.0/24"));
        var table = _harness.NewTable();
        await ApplyAsync(table);
        table.SetRemoteRoutes("host2/k8s/pod/eth0", Nets("10.70.0.5", "10.70.0.6"), IPAddress.Parse("192.168.1.2"));
        await ApplyAsync(table);
        Assert.Equal(1, _harness.Netlink.RouteLookups);
        _harness.Netlink.EmitEvents = false;
        _harness.Netlink.SetLinkState("eth0", up: false);

        _harness.Clock.Advance(Options.RefreshInterval);
        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Equal([LinkKey.ByIndex(eth0)], _harness.Netlink.LinkLookups);
        Assert.All(steps, s => Assert.EndsWith("-> ENETUNREACH", s));
        _harness.Netlink.EmitEvents = true;
        _harness.Netlink.SetLinkState("eth0", up: true);
        _harness.Pump(table);
        await ApplyAsync(table);
        Assert.Equal($"10.70.0.5/32 via 192.168.1.2 dev {eth0} proto 80", _harness.RouteTo("10.70.0.5/32"));
    }

    [Fact]
    public async Task An_uplink_going_down_that_the_record_knows_under_no_name_still_takes_the_remote_routes_recorded_on_it()
    {
        var table = _harness.NewTable();
        await ApplyAsync(table);
        // Appeared unheard of: the record knows no link of that name or index.
        _harness.Netlink.EmitEvents = false;
        var eth0 = _harness.Netlink.AddLink("eth0");
        _harness.Netlink.AddConnectedNetwork("eth0", IPNetwork.Parse("192.168.1.0/24"));
        _harness.Netlink.EmitEvents = true;
        table.SetRemoteRoutes("host2/k8s/pod/eth0", Nets("10.70.0.5"), IPAddress.Parse("192.168.1.2"));
        await ApplyAsync(table);

        _harness.Netlink.SetLinkState("eth0", up: false);
        _harness.Netlink.SetLinkState("eth0", up: true);
        _harness.Pump(table);
        Assert.True(table.HasPendingWork);
        await ApplyAsync(table);

        Assert.Equal($"10.70.0.5/32 via 192.168.1.2 dev {eth0} proto 80", _harness.RouteTo("10.70.0.5/32"));
    }
}
