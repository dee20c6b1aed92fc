using System.Net;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>How a read-back finds a dumped route's record: by its destination's bytes, and for IPv4 by a packed print of the route.</summary>
public sealed class RouteKeysTests
{
    private static readonly RouteSpec Device = new(IPNetwork.Parse("10.65.0.7/32"), 5, null, false, RouteScope.Link, 80);
    private static readonly RouteSpec Remote = new(IPNetwork.Parse("10.70.0.5/32"), 2, IPAddress.Parse("192.168.1.2"), false, RouteScope.Universe, 80);

    [Theory]
    [InlineData("10.65.0.7/32")]
    [InlineData("10.65.0.0/24")]
    [InlineData("fd65::7/128")]
    [InlineData("::/0")]
    public void A_destination_and_its_bytes_are_equal_and_hash_alike(string text)
    {
        var network = IPNetwork.Parse(text);
        var bytes = network.BaseAddress.GetAddressBytes();
        var comparer = DestinationComparer.Instance;

        Assert.True(comparer.Equals(new DestinationBytes(bytes, network.PrefixLength), network));
        Assert.Equal(comparer.GetHashCode(network), comparer.GetHashCode(new DestinationBytes(bytes, network.PrefixLength)));
        Assert.False(comparer.Equals(new DestinationBytes(bytes, network.PrefixLength == 0 ? 1 : network.PrefixLength - 1), network));
        Assert.Equal(network, comparer.Create(new DestinationBytes(bytes, network.PrefixLength)));
    }

    [Fact]
    public void Routes_are_found_by_their_destinations_bytes()
    {
        var routes = new Dictionary<IPNetwork, int>(DestinationComparer.Instance) { [IPNetwork.Parse("10.65.0.7/32")] = 1, [IPNetwork.Parse("fd65::7/128")] = 2 };
        var lookup = routes.GetAlternateLookup<DestinationBytes>();

        Assert.True(lookup.TryGetValue(new DestinationBytes([10, 65, 0, 7], 32), out var v4));
        Assert.True(lookup.TryGetValue(new DestinationBytes(IPAddress.Parse("fd65::7").GetAddressBytes(), 128), out var v6));
        Assert.False(lookup.TryGetValue(new DestinationBytes([10, 65, 0, 8], 32), out _));
        Assert.Equal((1, 2), (v4, v6));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_IPv4_routes_print_is_the_same_from_its_spec_and_from_the_wire(bool remote)
    {
        var route = remote ? Remote : Device;
        Span<byte> destination = stackalloc byte[16];
        Span<byte> gateway = stackalloc byte[16];

        var print = KernelPrint.Of(route);

        Assert.False(print.IsNone);
        Assert.Equal(print, KernelPrint.Of(DumpedRoute.Of(route, destination, gateway)));
    }

    public static TheoryData<string, RouteSpec> Changed => new()
    {
        { "link", Remote with { InterfaceIndex = 3 } },
        { "gateway", Remote with { Gateway = IPAddress.Parse("192.168.1.3") } },
        { "no gateway", Remote with { Gateway = null } },
        { "gateway 0.0.0.0", Remote with { Gateway = IPAddress.Any } },
        { "on link", Remote with { OnLink = true } },
        { "scope", Remote with { Scope = RouteScope.Link } },
        { "protocol", Remote with { Protocol = 81 } },
        { "destination", Remote with { Destination = IPNetwork.Parse("10.70.0.6/32") } },
        { "prefix", Remote with { Destination = IPNetwork.Parse("10.70.0.0/24") } },
    };

    [Theory]
    [MemberData(nameof(Changed))]
    public void Routes_that_differ_in_any_field_have_different_prints(string what, RouteSpec other) =>
        Assert.True(KernelPrint.Of(Remote) != KernelPrint.Of(other), what);

    [Fact]
    public void IPv6_routes_and_no_route_have_no_print()
    {
        Assert.True(KernelPrint.Of(new RouteSpec(IPNetwork.Parse("fd65::7/128"), 5, null, false, RouteScope.Universe, 80)).IsNone);
        Assert.True(KernelPrint.Of((RouteSpec?)null).IsNone);
    }
}
