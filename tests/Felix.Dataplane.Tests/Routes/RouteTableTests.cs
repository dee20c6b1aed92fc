using System.Net;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;
using Microsoft.Extensions.Logging;
using static Felix.Dataplane.Tests.Routes.RouteTableHarness;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>
/// The route table against a semantic fake of rtnetlink and of conntrack: each change costs the
/// requests it must and no more, all of one apply in one batch; an address that leaves or moves
/// loses its route and its flows before it is routed anew.
/// </summary>
public sealed partial class RouteTableTests
{
    private readonly RouteTableHarness _harness = new();

    [Fact]
    public async Task A_workload_route_is_one_exclusive_add_out_of_its_interface_with_scope_link_and_our_protocol()
    {
        var cali1 = _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));

        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Equal([$"add 10.65.0.1/32 dev {cali1} scope link proto 80"], steps);
        Assert.Single(_harness.Netlink.Batches);
        Assert.Equal($"10.65.0.1/32 dev {cali1} scope link proto 80", _harness.RouteTo("10.65.0.1/32"));
        Assert.False(table.HasPendingWork);
    }

    [Fact]
    public async Task Every_change_of_one_apply_goes_in_one_batch_in_destination_order()
    {
        var cali1 = _harness.Netlink.AddLink("cali1");
        var cali2 = _harness.Netlink.AddLink("cali2");
        var table = _harness.NewTable();
        table.SetRoutes("cali2", Nets("10.65.0.3", "10.65.0.4"));
        table.SetRoutes("cali1", Nets("10.65.0.2", "10.65.0.1"));

        await ApplyAsync(table);

        var batch = Assert.Single(_harness.Netlink.Batches);
        Assert.Equal(
            [$"add 10.65.0.1/32 dev {cali1} scope link proto 80", $"add 10.65.0.2/32 dev {cali1} scope link proto 80",
                $"add 10.65.0.3/32 dev {cali2} scope link proto 80", $"add 10.65.0.4/32 dev {cali2} scope link proto 80"],
            batch.Select(Show));
    }

    [Fact]
    public async Task One_added_address_is_one_request()
    {
        var cali1 = _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2"));
        await ApplyAsync(table);

        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2", "10.65.0.3"));
        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Equal([$"add 10.65.0.3/32 dev {cali1} scope link proto 80"], steps);
    }

    [Fact]
    public async Task A_removed_address_is_one_delete_then_a_flush_of_its_flows_in_every_direction()
    {
        var cali1 = _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2"));
        await ApplyAsync(table);

        table.SetRoutes("cali1", Nets("10.65.0.2"));
        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Equal(
            [$"delete 10.65.0.1/32 dev {cali1} scope link proto 80",
                "conntrack IPv4 10.65.0.1"],
            steps);
        Assert.Null(_harness.RouteTo("10.65.0.1/32"));
        Assert.NotNull(_harness.RouteTo("10.65.0.2/32"));
        Assert.False(table.HasPendingWork);
    }

    [Fact]
    public async Task Removing_an_interface_removes_all_its_routes_in_one_batch()
    {
        _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.2"));
        await ApplyAsync(table);

        table.RemoveInterface("cali1");
        await ApplyAsync(table);

        Assert.Equal(["delete", "delete"], _harness.Netlink.Batches[^1].Select(r => Show(r).Split(' ')[0]));
        Assert.Empty(_harness.OurRoutes());
        Assert.Equal(["10.65.0.1", "10.65.0.2"], Assert.Single(_harness.Conntrack.Calls).Addresses.Select(a => a.ToString()));
    }

    [Fact]
    public async Task An_address_removed_and_added_back_before_the_apply_costs_nothing()
    {
        _harness.Netlink.AddLink("cali1");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(table);
        var batches = _harness.Netlink.Batches.Count;

        table.RemoveInterface("cali1");
        table.SetRoutes("cali1", Nets("10.65.0.1", "10.65.0.7"));
        table.SetRoutes("cali1", Nets("10.65.0.1"));

        Assert.False(table.HasPendingWork);
        await ApplyAsync(table);
        Assert.Equal(batches, _harness.Netlink.Batches.Count);
        Assert.Empty(_harness.Conntrack.Calls);
    }

    [Fact]
    public async Task A_moved_address_loses_its_old_route_and_flows_before_it_is_routed_out_of_the_new_interface()
    {
        var cali1 = _harness.Netlink.AddLink("cali1");
        var cali2 = _harness.Netlink.AddLink("cali2");
        var table = _harness.NewTable();
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(table);
        _harness.Conntrack.AddFlow(IPAddress.Parse("10.0.0.9"), IPAddress.Parse("10.65.0.1"), tag: "old workload's");

        table.RemoveInterface("cali1");
        table.SetRoutes("cali2", Nets("10.65.0.1"));
        var steps = await _harness.Recording(() => ApplyAsync(table));

        Assert.Equal(
            [$"delete 10.65.0.1/32 dev {cali1} scope link proto 80",
                "conntrack IPv4 10.65.0.1",
                $"add 10.65.0.1/32 dev {cali2} scope link proto 80"],
            steps);
        Assert.Empty(_harness.Conntrack.Flows);
        Assert.False(table.HasPendingWork);
    }

    [Fact]
    public async Task Two_interfaces_claiming_one_address_route_it_out_of_the_first_by_name_and_the_other_takes_over_when_it_leaves()
    {
        var cali1 = _harness.Netlink.AddLink("cali1");
        var cali2 = _harness.Netlink.AddLink("cali2");
        var table = _harness.NewTable();
        table.SetRoutes("cali2", Nets("10.65.0.1"));
        table.SetRoutes("cali1", Nets("10.65.0.1"));
        await ApplyAsync(table);

        Assert.Equal($"10.65.0.1/32 dev {cali1} scope link proto 80", _harness.RouteTo("10.65.0.1/32"));
        Assert.Contains(_harness.Log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("10.65.0.1/32 is wanted by cali2 and now also by cali1", StringComparison.Ordinal));

        table.RemoveInterface("cali1");
        await ApplyAsync(table);
        Assert.Equal($"10.65.0.1/32 dev {cali2} scope link proto 80", _harness.RouteTo("10.65.0.1/32"));
        Assert.Single(_harness.Conntrack.Calls);
    }

    [Fact]
    public async Task Claims_leave_in_any_order_and_the_best_remaining_one_routes_the_address()
    {
        var cali1 = _harness.Netlink.AddLink("cali1");
        _harness.Netlink.AddLink("cali2");
        var cali3 = _harness.Netlink.AddLink("cali3");
        var table = _harness.NewTable();
        table.SetRoutes("cali2", Nets("10.65.0.1"));
        table.SetRoutes("cali3", Nets("10.65.0.1"));
        table.SetRoutes("cali1", Nets("10.65.0.1"));

        table.RemoveInterface("cali2");
        await ApplyAsync(table);
        Assert.Equal($"10.65.0.1/32 dev {cali1} scope link proto 80", _harness.RouteTo("10.65.0.1/32"));

        table.RemoveInterface("cali1");
        await ApplyAsync(table);
        Assert.Equal($"10.65.0.1/32 dev {cali3} scope link proto 80", _harness.RouteTo("10.65.0.1/32"));

        table.RemoveInterface("cali3");
        await ApplyAsync(table);
        Assert.Null(_harness.RouteTo("10.65.0.1/32"));
        Assert.False(table.HasPendingWork);
    }

    [Fact]
    public void Addresses_of_the_other_family_invalid_names_and_the_kernels_protocols_are_refused()
    {
        var table = _harness.NewTable();
        var v6 = _harness.NewTable(IpVersion.V6);

        Assert.Throws<ArgumentException>(() => table.SetRoutes("cali1", Nets("fd00::1")));
        Assert.Throws<ArgumentException>(() => v6.SetRoutes("cali1", Nets("10.65.0.1")));
        Assert.Throws<ArgumentException>(() => table.SetRoutes("cali-much-too-long", Nets("10.65.0.1")));
        Assert.Throws<ArgumentException>(() => table.SetRoutes("cali/1", Nets("10.65.0.1")));
        Assert.Throws<ArgumentException>(() => table.SetRoutes("", Nets("10.65.0.1")));
        Assert.Throws<ArgumentException>(() => v6.SetRemoteRoutes("ep", Nets("fd00::1"), IPAddress.Parse("192.168.1.2")));
        Assert.Throws<ArgumentOutOfRangeException>(() => _harness.NewTable(options: Options with { DeviceRouteProtocol = 2 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => _harness.NewTable(options: Options with { DeviceRouteProtocol = 0 }));
    }

    [Fact]
    public async Task IPv6_routes_are_written_with_scope_universe_as_the_kernel_reports_them_and_a_restart_writes_nothing()
    {
        var cali1 = _harness.Netlink.AddLink("cali1");
        var v4 = _harness.NewTable();
        var v6 = _harness.NewTable(IpVersion.V6);
        v4.SetRoutes("cali1", Nets("10.65.0.1"));
        v6.SetRoutes("cali1", Nets("fd00::1"));
        await ApplyAsync(v4);
        await ApplyAsync(v6);
        Assert.Equal([$"fd00::1/128 dev {cali1} proto 80"], _harness.OurRoutes(IpVersion.V6));

        v6.RemoveInterface("cali1");
        await ApplyAsync(v6);
        Assert.Equal((IpVersion.V6, "fd00::1"), _harness.Conntrack.Calls.Select(c => (c.Family, string.Join(' ', c.Addresses))).Single());
        Assert.Empty(_harness.OurRoutes(IpVersion.V6));
        Assert.Equal([$"10.65.0.1/32 dev {cali1} scope link proto 80"], _harness.OurRoutes());

        v6.SetRoutes("cali1", Nets("fd00::1", "fd00::2"));
        await ApplyAsync(v6);
        var batches = _harness.Netlink.Batches.Count;
        var restarted = _harness.NewTable(IpVersion.V6);
        restarted.SetRoutes("cali1", Nets("fd00::1", "fd00::2"));
        await ApplyAsync(restarted);
        Assert.Equal(batches, _harness.Netlink.Batches.Count);
    }

    private static Task ApplyAsync(RouteTable table) => RouteTableHarness.ApplyAsync(table);
}
