using Felix.Dataplane.Netlink;
using Microsoft.Extensions.Logging;
using static Felix.Dataplane.Tests.Routes.RouteTableHarness;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>Links that appear late, go down, vanish mid-apply, are recreated or renamed, and events that are lost.</summary>
public sealed partial class RouteTableTests
{
    [Fact]
    public async Task A_route_for_an_interface_that_does_not_exist_yet_costs_nothing_and_is_programmed_on_its_link_event()
    {
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(table);

        Assert.Empty(_harness.Netlink.Batches);
        Assert.False(table.HasPendingWork);

        var cali1 = _harness.Netlink.AddLink("cali1");
        _harness.Pump(table);
        Assert.True(table.HasPendingWork);
        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Equal([$"add 10.65.0.1/32 dev {cali1} scope link proto 80"], steps);
        Assert.Equal(1, _harness.Netlink.ListRoutesCalls);
    }

    [Fact]
    public async Task A_route_for_a_down_interface_waits_for_it_to_come_up()
    {
        var cali1 = _harness.Netlink.AddLink("cali1", up: false);
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(table);
        Assert.Empty(_harness.Netlink.Batches);

        _harness.Netlink.SetLinkState("cali1", up: true);
        _harness.Pump(table);
        await ApplyAsync(table);

        Assert.Equal($"10.65.0.1/32 dev {cali1} scope link proto 80", _harness.RouteTo("10.65.0.1/32"));
    }

    [Fact]
    public async Task A_link_that_goes_down_and_up_again_gets_back_the_routes_the_kernel_dropped()
    {
        _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(table);

        _harness.Netlink.SetLinkState("cali1", up: false);
        _harness.Pump(table);
        Assert.False(table.HasPendingWork);
        _harness.Netlink.SetLinkState("cali1", up: true);
        _harness.Pump(table);
        await ApplyAsync(table);

        Assert.NotNull(_harness.RouteTo("10.65.0.1/32"));
        Assert.Empty(_harness.Conntrack.Calls);
    }

    [Fact]
    public async Task An_interface_deleted_and_recreated_gets_its_routes_back_on_the_new_link_without_a_delete_or_flush()
    {
        _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2"));
        await ApplyAsync(table);

        var recreated = _harness.Netlink.RecreateLink("cali1");
        _harness.Pump(table);
        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Equal(
            [$"add 10.65.0.1/32 dev {recreated} scope link proto 80", $"add 10.65.0.2/32 dev {recreated} scope link proto 80"], steps);
        Assert.Equal(1, _harness.Netlink.ListLinksCalls);
    }

    [Fact]
    public async Task A_link_that_vanishes_in_the_middle_of_an_apply_is_waited_for_not_an_error()
    {
        _harness.Netlink.AddLink("cali1");
        var cali2 = _harness.Netlink.AddLink("cali2");
        var table = _harness.NewTable();
        await ApplyAsync(table);
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        table.SetRoutes("cali2", Nets("10.65.0.2"));
        _harness.Netlink.BeforeExecute = _ => _harness.Netlink.DeleteLink("cali1");

        var steps = await _harness.Recording(() => ApplyAsync(table));
        _harness.Netlink.BeforeExecute = null;

        Assert.Contains(steps, s => s.EndsWith("-> ENODEV", StringComparison.Ordinal));
        Assert.Equal($"10.65.0.2/32 dev {cali2} scope link proto 80", _harness.RouteTo("10.65.0.2/32"));
        Assert.Null(table.FailingSince);
        Assert.False(table.HasPendingWork);
        Assert.DoesNotContain(_harness.Log.Entries, e => e.Level >= LogLevel.Warning);
        Assert.Single(_harness.Netlink.Batches);

        _harness.Pump(table);
        var cali1 = _harness.Netlink.AddLink("cali1");
        _harness.Pump(table);
        await ApplyAsync(table);
        Assert.Equal($"10.65.0.1/32 dev {cali1} scope link proto 80", _harness.RouteTo("10.65.0.1/32"));
        Assert.Equal(1, _harness.Metric("felix_netlink_errors{errno=\"ENODEV\"}"));
    }

    [Fact]
    public async Task A_link_that_goes_down_in_the_middle_of_an_apply_is_waited_for_not_an_error()
    {
        _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        await ApplyAsync(table);
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        _harness.Netlink.BeforeExecute = _ => _harness.Netlink.SetLinkState("cali1", up: false);

        await ApplyAsync(table);
        _harness.Netlink.BeforeExecute = null;

        Assert.Equal(["add 10.65.0.1/32 dev 2 scope link proto 80 -> ENETDOWN"], _harness.Timeline);
        Assert.False(table.HasPendingWork);
        _harness.Pump(table);
        _harness.Netlink.SetLinkState("cali1", up: true);
        _harness.Pump(table);
        await ApplyAsync(table);
        Assert.NotNull(_harness.RouteTo("10.65.0.1/32"));
    }

    [Fact]
    public async Task A_link_recreated_unheard_of_is_found_by_the_refresh()
    {
        _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        await ApplyAsync(table);
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        _harness.Netlink.EmitEvents = false;
        _harness.Netlink.BeforeExecute = _ =>
        {
            _harness.Netlink.BeforeExecute = null;
            _harness.Netlink.RecreateLink("cali1");
        };

        await ApplyAsync(table);
        Assert.Null(_harness.RouteTo("10.65.0.1/32"));
        Assert.False(table.HasPendingWork);

        _harness.Clock.Advance(Options.RefreshInterval);
        Assert.True(table.HasPendingWork);
        await ApplyAsync(table);
        Assert.Equal($"10.65.0.1/32 dev {_harness.Netlink.IndexOf("cali1")} scope link proto 80", _harness.RouteTo("10.65.0.1/32"));
    }

    [Fact]
    public async Task Lost_link_events_make_the_next_apply_read_the_links_again()
    {
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(table);
        _harness.Netlink.EmitEvents = false;
        var cali1 = _harness.Netlink.AddLink("cali1");
        _harness.Netlink.EmitEvents = true;

        _harness.Netlink.LoseEvents();
        _harness.Pump(table);

        Assert.True(table.HasPendingWork);
        await ApplyAsync(table);
        Assert.Equal(2, _harness.Netlink.ListLinksCalls);
        Assert.Equal($"10.65.0.1/32 dev {cali1} scope link proto 80", _harness.RouteTo("10.65.0.1/32"));
    }

    [Fact]
    public async Task A_renamed_link_loses_the_routes_of_its_old_name_and_gets_them_back_with_it()
    {
        var index = _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(table);

        _harness.Netlink.RenameLink("cali1", "tmp1");
        _harness.Pump(table);
        await ApplyAsync(table);
        Assert.Null(_harness.RouteTo("10.65.0.1/32"));

        _harness.Netlink.RenameLink("tmp1", "cali1");
        _harness.Pump(table);
        await ApplyAsync(table);
        Assert.Equal($"10.65.0.1/32 dev {index} scope link proto 80", _harness.RouteTo("10.65.0.1/32"));
    }

    [Fact]
    public async Task Link_events_arrive_through_the_watch_as_the_kernel_sends_them()
    {
        using var cancel = new CancellationTokenSource();
        var events = _harness.Netlink.WatchLinksAsync(cancel.Token).GetAsyncEnumerator(cancel.Token);
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(table);

        var moveNext = events.MoveNextAsync();
        var index = _harness.Netlink.AddLink("cali1");
        Assert.True(await moveNext);
        table.OnLinkEvent(events.Current);
        await ApplyAsync(table);

        Assert.Equal((index, "cali1"), (((LinkUpdated)events.Current).Link.Index, ((LinkUpdated)events.Current).Link.Name));
        Assert.NotNull(_harness.RouteTo("10.65.0.1/32"));
        await cancel.CancelAsync();
        await events.DisposeAsync();
    }
}
