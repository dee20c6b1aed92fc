using System.Net;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Netlink.Interop;

namespace Felix.Dataplane.Tests.Netlink;

/// <summary>
/// Golden bytes of every request the agent sends, written out field by field from the kernel's
/// struct layouts (little-endian, as on every host the agent runs on), and the writer's rules:
/// alignment, zeroed padding, lengths written back.
/// </summary>
public sealed class NetlinkWriterTests
{
    private const byte Proto = 80;

    public static TheoryData<string, NetlinkRequest, string> Requests => new()
    {
        {
            "route to an IPv4 workload through its veth",
            new ReplaceRoute(new RouteSpec(IPNetwork.Parse("10.65.0.7/32"), 5, null, false, RouteScope.Link, Proto)),
            // nlmsghdr: len 44, RTM_NEWROUTE, REQUEST|ACK|REPLACE|CREATE, seq 1, pid 0
            "2c000000 1800 0505 01000000 00000000 " +
            // rtmsg: AF_INET, /32, src 0, tos 0, main, proto 80, scope link, unicast, flags 0
            "02 20 00 00 fe 50 fd 01 00000000 " +
            // RTA_DST 10.65.0.7, RTA_OIF 5
            "0800 0100 0a410007 0800 0400 05000000"
        },
        {
            "route to an IPv6 workload",
            new ReplaceRoute(new RouteSpec(IPNetwork.Parse("fd65::7/128"), 5, null, false, RouteScope.Universe, Proto)),
            "38000000 1800 0505 01000000 00000000 " +
            "0a 80 00 00 fe 50 00 01 00000000 " +
            "1400 0100 fd650000000000000000000000000007 0800 0400 05000000"
        },
        {
            "route to a remote workload via its host, on link",
            new ReplaceRoute(new RouteSpec(IPNetwork.Parse("10.65.1.5/32"), 2, IPAddress.Parse("192.168.3.2"), true, RouteScope.Universe, Proto)),
            "34000000 1800 0505 01000000 00000000 " +
            // flags RTNH_F_ONLINK
            "02 20 00 00 fe 50 00 01 04000000 " +
            "0800 0100 0a410105 0800 0400 02000000 0800 0500 c0a80302"
        },
        {
            "route via a gateway without an interface",
            new ReplaceRoute(new RouteSpec(IPNetwork.Parse("10.65.2.0/24"), 0, IPAddress.Parse("192.168.3.3"), false, RouteScope.Universe, Proto)),
            "2c000000 1800 0505 01000000 00000000 " +
            "02 18 00 00 fe 50 00 01 00000000 " +
            "0800 0100 0a410200 0800 0500 c0a80303"
        },
        {
            "add only where no route is: REQUEST|ACK|EXCL|CREATE",
            new AddRoute(new RouteSpec(IPNetwork.Parse("10.65.0.7/32"), 5, null, false, RouteScope.Link, Proto)),
            "2c000000 1800 0506 01000000 00000000 " +
            "02 20 00 00 fe 50 fd 01 00000000 " +
            "0800 0100 0a410007 0800 0400 05000000"
        },
        {
            "delete of our route: our protocol, scope nowhere, no type",
            new DeleteRoute(new RouteSpec(IPNetwork.Parse("10.65.0.7/32"), 5, null, false, RouteScope.Link, Proto)),
            "2c000000 1900 0500 01000000 00000000 " +
            "02 20 00 00 fe 50 ff 00 00000000 " +
            "0800 0100 0a410007 0800 0400 05000000"
        },
        {
            "link up",
            new SetLinkUp(7),
            // ifinfomsg: AF_UNSPEC, pad, type 0, index 7, flags IFF_UP, change IFF_UP
            "20000000 1000 0500 01000000 00000000 " +
            "00 00 0000 07000000 01000000 01000000"
        },
        {
            "static neighbour",
            new ReplaceNeighbor(7, IPAddress.Parse("10.65.0.7"), [0x96, 0xc4, 0x86, 0x4d, 0xd7, 0x2c]),
            // ndmsg: AF_INET, pads, index 7, NUD_PERMANENT, flags 0, type 0; NDA_DST; NDA_LLADDR (6 bytes + 2 padding)
            "30000000 1c00 0505 01000000 00000000 " +
            "02 00 0000 07000000 8000 00 00 " +
            "0800 0100 0a410007 0a00 0200 96c4864dd72c 0000"
        },
        {
            "proxy NDP entry",
            new ReplaceProxyNeighbor(7, IPAddress.Parse("fe80::1")),
            "30000000 1c00 0505 01000000 00000000 " +
            "0a 00 0000 07000000 8000 08 00 " +
            "1400 0100 fe800000000000000000000000000001"
        },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void Every_request_is_written_byte_for_byte(string what, NetlinkRequest request, string golden)
    {
        Span<byte> buffer = stackalloc byte[RtnetlinkMessages.MaxRequestSize];
        var writer = new NetlinkWriter(buffer);

        RtnetlinkMessages.Write(ref writer, request, sequence: 1);

        Assert.True(Hex(golden) == Convert.ToHexStringLower(writer.Written), $"{what}:\n expected {Hex(golden)}\n written  {Convert.ToHexStringLower(writer.Written)}");
    }

    [Fact]
    public void Dump_requests_are_written_byte_for_byte()
    {
        Span<byte> buffer = stackalloc byte[RtnetlinkMessages.MaxRequestSize];
        var writer = new NetlinkWriter(buffer);

        RtnetlinkMessages.WriteRouteDump(ref writer, 9, IpVersion.V6, Proto);
        RtnetlinkMessages.WriteLinkDump(ref writer, 10);

        Assert.Equal(
            Hex("1c000000 1a00 0103 09000000 00000000 0a 00 00 00 fe 50 00 00 00000000 " +
                // The link dump asks for no statistics: IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS.
                "28000000 1200 0103 0a000000 00000000 00 00 0000 00000000 00000000 00000000 0800 1d00 08000000"),
            Convert.ToHexStringLower(writer.Written));
    }

    [Fact]
    public void Link_lookups_by_name_and_by_index_are_written_byte_for_byte()
    {
        Span<byte> buffer = stackalloc byte[RtnetlinkMessages.MaxRequestSize];
        var writer = new NetlinkWriter(buffer);

        RtnetlinkMessages.WriteLinkGet(ref writer, 11, LinkKey.ByName("cali1"));
        RtnetlinkMessages.WriteLinkGet(ref writer, 12, LinkKey.ByIndex(7));

        Assert.Equal(
            // REQUEST only: the answer is the link or an error, no acknowledgement after it. By name: index 0, IFLA_IFNAME "cali1\0".
            Hex("34000000 1200 0100 0b000000 00000000 00 00 0000 00000000 00000000 00000000 0800 1d00 08000000 0a00 0300 63616c693100 0000 " +
                "28000000 1200 0100 0c000000 00000000 00 00 0000 07000000 00000000 00000000 0800 1d00 08000000"),
            Convert.ToHexStringLower(writer.Written));
    }

    [Fact]
    public void Route_lookups_are_written_byte_for_byte()
    {
        Span<byte> buffer = stackalloc byte[RtnetlinkMessages.MaxRequestSize];
        var writer = new NetlinkWriter(buffer);

        RtnetlinkMessages.WriteRouteGet(ref writer, 13, IPAddress.Parse("192.168.1.2"));
        RtnetlinkMessages.WriteRouteGet(ref writer, 14, IPAddress.Parse("fd00::2"));

        Assert.Equal(
            // RTM_GETROUTE, REQUEST only; rtmsg with the family and a full-length destination, all else 0 (strict checking wants it so); RTA_DST.
            Hex("24000000 1a00 0100 0d000000 00000000 02 20 00 00 00 00 00 00 00000000 0800 0100 c0a80102 " +
                "30000000 1a00 0100 0e000000 00000000 0a 80 00 00 00 00 00 00 00000000 1400 0100 fd000000000000000000000000000002"),
            Convert.ToHexStringLower(writer.Written));
    }

    [Fact]
    public void The_longest_link_lookup_fits_the_request_size()
    {
        Span<byte> buffer = stackalloc byte[RtnetlinkMessages.MaxRequestSize];
        var writer = new NetlinkWriter(buffer);

        RtnetlinkMessages.WriteLinkGet(ref writer, 1, LinkKey.ByName("cali0123456789a"));

        Assert.Equal(60, writer.Position);
    }

    [Fact]
    public void Padding_is_zeroed_even_over_an_earlier_batch_and_nested_lengths_are_written_back()
    {
        Span<byte> buffer = stackalloc byte[64];
        buffer.Fill(0xff);
        var writer = new NetlinkWriter(buffer);

        writer.BeginMessage(1, 0, 2);
        var nest = writer.BeginNested(9);
        writer.Attribute(3, [0xab]);
        writer.Attribute(4, "ab");
        writer.EndNested(nest);
        writer.EndMessage();

        Assert.Equal(
            Hex("24000000 0100 0000 02000000 00000000 " + "1400 0900 " + "0500 0300 ab000000 " + "0700 0400 616200 00"),
            Convert.ToHexStringLower(writer.Written));
        Assert.Equal(0, writer.Position % 4);
    }

    [Fact]
    public void A_full_buffer_throws_instead_of_writing_past_its_end()
    {
        var buffer = new byte[20];

        var thrown = Assert.Throws<InvalidOperationException>(() =>
        {
            var writer = new NetlinkWriter(buffer);
            writer.BeginMessage(1, 0, 1);
            writer.Attribute(1, 7u);
        });

        Assert.Contains("full", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Messages_cannot_overlap()
    {
        Assert.Throws<InvalidOperationException>(() =>
        {
            var writer = new NetlinkWriter(new byte[64]);
            writer.BeginMessage(1, 0, 1);
            writer.BeginMessage(1, 0, 2);
        });
        Assert.Throws<InvalidOperationException>(() => new NetlinkWriter(new byte[64]).EndMessage());
    }

    [Fact]
    public void Struct_sizes_are_the_kernels()
    {
        Assert.Equal(
            [16, 20, 4, 12, 12, 16, 12, 16],
            [Size<nlmsghdr>(), Size<nlmsgerr>(), Size<rtattr>(), Size<sockaddr_nl>(), Size<rtmsg>(), Size<ifinfomsg>(), Size<ndmsg>(), Size<timeval>()]);
    }

    private static int Size<T>()
        where T : unmanaged => System.Runtime.InteropServices.Marshal.SizeOf<T>();

    private static string Hex(string spaced) => spaced.Replace(" ", "", StringComparison.Ordinal);
}
