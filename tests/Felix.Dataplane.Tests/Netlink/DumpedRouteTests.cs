using System.Net;
using Felix.Dataplane.Netlink;
using static Felix.Dataplane.Tests.Netlink.NetlinkReaderTests;

namespace Felix.Dataplane.Tests.Netlink;

/// <summary>A dumped route before it is made a <see cref="RouteSpec"/>: read from the wire, compared with a route held, and made one.</summary>
public sealed class DumpedRouteTests
{
    // RTM_NEWROUTE as a dump answers: AF_INET /32, table main, proto 80, scope universe, unicast;
    // RTA_TABLE 254, RTA_DST 10.65.0.7, RTA_GATEWAY 192.168.1.2, RTA_OIF 5.
    private const string Remote =
        "3c000000 1800 0200 09000000 00000000 " +
        "02 20 00 00 fe 50 00 01 00000000 " +
        "0800 0f00 fe000000 0800 0100 0a410007 0800 0500 c0a80102 0800 0400 05000000";

    private static readonly RouteSpec RemoteSpec =
        new(IPNetwork.Parse("10.65.0.7/32"), 5, IPAddress.Parse("192.168.1.2"), false, RouteScope.Universe, 80);

    [Fact]
    public void A_dumped_route_is_read_field_by_field_and_made_the_spec_the_decoder_gives()
    {
        var reader = new NetlinkReader(Bytes(Remote));
        Assert.True(reader.TryRead(out var message));

        Assert.True(RtnetlinkMessages.ReadRoute(message, out var route));

        Assert.Equal([10, 65, 0, 7], route.Destination.ToArray());
        Assert.Equal([192, 168, 1, 2], route.Gateway.ToArray());
        Assert.Equal((32, 5, false, RouteScope.Universe, (byte)80), (route.PrefixLength, route.InterfaceIndex, route.OnLink, route.Scope, route.Protocol));
        Assert.Equal(RemoteSpec, route.ToSpec());
        Assert.Equal(RemoteSpec, RtnetlinkMessages.DecodeRoute(message));
        Assert.True(route.Is(RemoteSpec));
    }

    [Theory]
    [InlineData("02 00 00 00 fe 50 00 01 00000000 0800 0400 05000000", "0.0.0.0/0")]
    [InlineData("0a 00 00 00 fe 50 00 01 00000000 0800 0400 05000000", "::/0")]
    public void A_route_without_a_destination_is_the_default_route_of_its_family(string payload, string expected)
    {
        var hex = $"{16 + (Bytes(payload).Length):x2}000000 1800 0200 09000000 00000000 " + payload;

        var reader = new NetlinkReader(Bytes(hex));
        Assert.True(reader.TryRead(out var message));
        Assert.True(RtnetlinkMessages.ReadRoute(message, out var route));

        Assert.Equal(IPNetwork.Parse(expected), route.ToSpec().Destination);
    }

    public static TheoryData<string, RouteSpec> Others => new()
    {
        { "another link", RemoteSpec with { InterfaceIndex = 6 } },
        { "another gateway", RemoteSpec with { Gateway = IPAddress.Parse("192.168.1.3") } },
        { "no gateway", RemoteSpec with { Gateway = null } },
        { "on link", RemoteSpec with { OnLink = true } },
        { "another scope", RemoteSpec with { Scope = RouteScope.Link } },
        { "another protocol", RemoteSpec with { Protocol = 81 } },
        { "another destination", RemoteSpec with { Destination = IPNetwork.Parse("10.65.0.8/32") } },
        { "another prefix", RemoteSpec with { Destination = IPNetwork.Parse("10.65.0.0/24") } },
    };

    [Theory]
    [MemberData(nameof(Others))]
    public void A_route_that_differs_in_any_field_is_not_the_dumped_one(string what, RouteSpec other)
    {
        Span<byte> destination = stackalloc byte[16];
        Span<byte> gateway = stackalloc byte[16];
        var dumped = DumpedRoute.Of(RemoteSpec, destination, gateway);

        Assert.True(dumped.Is(RemoteSpec), what);
        Assert.False(dumped.Is(other), what);
        // Told the destination is the same, only the rest is compared: a route elsewhere but otherwise alike passes.
        Assert.Equal(other.Destination != RemoteSpec.Destination, dumped.IsSameRouteTo(other));
    }

    [Fact]
    public void An_IPv6_route_goes_to_the_wire_form_and_back()
    {
        var route = new RouteSpec(IPNetwork.Parse("fd65::7/128"), 3, IPAddress.Parse("fd00::1"), false, RouteScope.Universe, 80);
        Span<byte> destination = stackalloc byte[16];
        Span<byte> gateway = stackalloc byte[16];

        var dumped = DumpedRoute.Of(route, destination, gateway);

        Assert.Equal(16, dumped.Destination.Length);
        Assert.True(dumped.Is(route));
        Assert.Equal(route, dumped.ToSpec());
    }
}
