using System.Net;
using Felix.Dataplane.Netlink;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// The kernel behaviours the fake copies, each as seen with <c>ip route</c> (and strace for the
/// errno) on Linux 6.x in a scratch namespace, so the fake's rules are stated once and checked.
/// The route table's integration tests run the same situations against the real kernel.
/// </summary>
public sealed partial class FakeRouteNetlinkTests : IDisposable
{
    private static readonly IPNetwork Workload = IPNetwork.Parse("10.65.0.1/32");

    private readonly FakeRouteNetlink _kernel = new();

    private static RouteSpec Device(int index, byte protocol = 80, string destination = "10.65.0.1/32") =>
        new(IPNetwork.Parse(destination), index, null, false, RouteScope.Link, protocol);

    public void Dispose() => _kernel.Dispose();

    private NetlinkError? One(NetlinkRequest request) => Assert.Single(_kernel.Execute([request]));

    [Fact]
    public void A_route_through_a_missing_link_is_ENODEV_and_through_a_down_one_ENETDOWN()
    {
        var down = _kernel.AddLink("cali1", up: false);

        Assert.Equal("ENODEV", One(new ReplaceRoute(Device(99)))?.Name);
        Assert.Equal("ENETDOWN", One(new ReplaceRoute(Device(down)))?.Name);
        Assert.Empty(_kernel.AllRoutes());
    }

    [Fact]
    public void A_gateway_on_no_connected_network_of_an_up_link_is_ENETUNREACH_else_the_route_goes_out_of_that_link()
    {
        var eth0 = _kernel.AddLink("eth0");
        var route = new RouteSpec(Workload, 0, IPAddress.Parse("192.168.1.2"), false, RouteScope.Universe, 80);

        Assert.Equal("ENETUNREACH", One(new ReplaceRoute(route))?.Name);
        _kernel.AddConnectedNetwork("eth0", IPNetwork.Parse("192.168.1.0/24"));
        Assert.Null(One(new ReplaceRoute(route)));

        Assert.Equal(route with { InterfaceIndex = eth0 }, _kernel.Route(Workload));
    }

    [Fact]
    public void A_replace_takes_over_a_route_of_another_protocol_to_the_same_destination()
    {
        var cali1 = _kernel.AddLink("cali1");
        _kernel.AddRouteByHand(Device(cali1, protocol: 3));

        Assert.Null(One(new ReplaceRoute(Device(cali1))));

        Assert.Equal(80, _kernel.Route(Workload)!.Protocol);
    }

    [Fact]
    public void An_exclusive_add_of_a_destination_any_route_holds_is_EEXIST()
    {
        var cali1 = _kernel.AddLink("cali1");
        _kernel.AddRouteByHand(Device(cali1, protocol: 3));

        Assert.Equal("EEXIST", One(new AddRoute(Device(cali1)))?.Name);
        Assert.Equal(3, _kernel.Route(Workload)!.Protocol);
        Assert.Null(One(new AddRoute(Device(cali1, destination: "10.65.0.2/32"))));
        Assert.Equal("EEXIST", One(new AddRoute(Device(cali1, destination: "10.65.0.2/32")))?.Name);
    }

    [Fact]
    public void A_delete_whose_protocol_link_or_gateway_differ_or_of_no_route_is_ESRCH()
    {
        var cali1 = _kernel.AddLink("cali1");
        var cali2 = _kernel.AddLink("cali2");
        _kernel.AddRouteByHand(Device(cali1, protocol: 3));

        Assert.Equal("ESRCH", One(new DeleteRoute(Device(cali1)))?.Name);
        Assert.Equal("ESRCH", One(new DeleteRoute(Device(cali2, protocol: 3)))?.Name);
        Assert.Equal("ESRCH", One(new DeleteRoute(Device(cali1, protocol: 3) with { Gateway = IPAddress.Parse("10.0.0.1") }))?.Name);
        Assert.Equal("ESRCH", One(new DeleteRoute(Device(cali1, destination: "10.65.0.2/32")))?.Name);
        Assert.Null(One(new DeleteRoute(Device(cali1, protocol: 3))));
        Assert.Empty(_kernel.AllRoutes());
    }

    [Fact]
    public void A_link_going_down_or_away_takes_its_routes_of_both_families_and_announces_it()
    {
        var cali1 = _kernel.AddLink("cali1");
        _kernel.Execute([new ReplaceRoute(Device(cali1)), new ReplaceRoute(new RouteSpec(IPNetwork.Parse("fd00::1/128"), cali1, null, false, RouteScope.Link, 80))]);
        _kernel.TakeEvents();

        _kernel.SetLinkState("cali1", up: false);
        Assert.Empty(_kernel.AllRoutes());
        _kernel.SetLinkState("cali1", up: true);
        _kernel.Execute([new ReplaceRoute(Device(cali1))]);
        _kernel.DeleteLink("cali1");

        Assert.Empty(_kernel.AllRoutes());
        Assert.Equal(
            [new LinkUpdated(new LinkInfo(cali1, "cali1", false, null)), new LinkUpdated(new LinkInfo(cali1, "cali1", true, null)), new LinkDeleted(cali1, "cali1")],
            _kernel.TakeEvents().Select(e => e is LinkUpdated u ? u with { Link = u.Link with { Address = null } } : e));
    }

    [Fact]
    public void IPv6_reports_every_route_with_scope_universe()
    {
        var cali1 = _kernel.AddLink("cali1");

        _kernel.Execute([new ReplaceRoute(new RouteSpec(IPNetwork.Parse("fd00::1/128"), cali1, null, false, RouteScope.Link, 80))]);

        Assert.Equal(RouteScope.Universe, Assert.Single(_kernel.ListRoutes(IpVersion.V6, 80)).Scope);
        Assert.Empty(_kernel.ListRoutes(IpVersion.V4, 80));
    }

    [Fact]
    public void A_refused_request_does_not_stop_the_ones_after_it()
    {
        var cali1 = _kernel.AddLink("cali1");

        var results = _kernel.Execute([new ReplaceRoute(Device(99)), new ReplaceRoute(Device(cali1))]);

        Assert.Equal(["ENODEV", null], results.Select(r => r?.Name));
        Assert.NotNull(_kernel.Route(Workload));
    }

    [Fact]
    public void Links_are_looked_up_by_name_or_index_as_a_listing_shows_them_and_a_missing_one_is_null()
    {
        var cali1 = _kernel.AddLink("cali1");
        var cali2 = _kernel.AddLink("cali2", up: false);
        var listed = _kernel.ListLinks();

        var found = _kernel.GetLinks([LinkKey.ByName("cali2"), LinkKey.ByIndex(cali1), LinkKey.ByName("cali9"), LinkKey.ByIndex(99)]);

        Assert.Equal([listed.Single(l => l.Index == cali2), listed.Single(l => l.Index == cali1), null, null], found);
        Assert.Equal(1, _kernel.ListLinksCalls);
    }
}
