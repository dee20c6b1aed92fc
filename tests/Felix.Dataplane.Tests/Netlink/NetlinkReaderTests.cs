using System.Net;
using Felix.Dataplane.Netlink;

namespace Felix.Dataplane.Tests.Netlink;

/// <summary>
/// The reader and decoders on answers as the kernel writes them, and on every way an answer can be
/// wrong: each is a <see cref="MalformedNetlinkException"/> that says what was wrong.
/// </summary>
public sealed class NetlinkReaderTests
{
    // RTM_NEWROUTE as a dump answers: AF_INET /32, table main, proto 80, scope link, unicast;
    // RTA_TABLE 254, RTA_DST 10.65.0.7, RTA_OIF 5.
    private const string Route =
        "34000000 1800 0200 09000000 00000000 " +
        "02 20 00 00 fe 50 fd 01 00000000 " +
        "0800 0f00 fe000000 0800 0100 0a410007 0800 0400 05000000";

    // RTM_NEWLINK: index 3, IFF_UP|IFF_BROADCAST, IFLA_IFNAME "cali1", IFLA_ADDRESS 6 bytes.
    private const string Link =
        "38000000 1000 0000 00000000 00000000 " +
        "00 00 0100 03000000 03100000 00000000 " +
        "0a00 0300 63616c693100 0000 0a00 0100 96c4864dd72c 0000";

    // NLMSG_ERROR, capped, with TLVs: -EINVAL, the request's header, NLMSGERR_ATTR_MSG "Nexthop has invalid gateway".
    private const string ErrorWithMessage =
        "44000000 0200 0003 07000000 00000000 " +
        "eaffffff 2c000000 1800 0505 07000000 00000000 " +
        "2000 0100 4e657874686f702068617320696e76616c6964206761746577617900";

    [Fact]
    public void A_dumped_route_decodes_to_its_spec()
    {
        var route = DecodeOne(Route, RtnetlinkMessages.DecodeRoute);

        Assert.Equal(new RouteSpec(IPNetwork.Parse("10.65.0.7/32"), 5, null, false, RouteScope.Link, 80), route);
    }

    [Fact]
    public void A_route_of_another_table_or_type_is_not_ours_to_see()
    {
        Assert.Null(DecodeOne(Route.Replace("0800 0f00 fe000000", "0800 0f00 ff000000", StringComparison.Ordinal), RtnetlinkMessages.DecodeRoute));
        Assert.Null(DecodeOne(Route.Replace("fe 50 fd 01", "fe 50 fd 02", StringComparison.Ordinal), RtnetlinkMessages.DecodeRoute));
    }

    [Fact]
    public void A_route_lookups_answer_names_its_output_interface_or_none()
    {
        Assert.Equal(5, DecodeOne(Route, m => (int?)RtnetlinkMessages.DecodeOutputInterface(m)));
        Assert.Equal(0, DecodeOne(Route.Replace("0800 0400 05000000", "0800 0500 c0a80102", StringComparison.Ordinal), m => (int?)RtnetlinkMessages.DecodeOutputInterface(m)));
        Assert.Throws<MalformedNetlinkException>(() =>
            DecodeOne(Route.Replace("0800 0400 05000000", "0600 0400 0500 0000", StringComparison.Ordinal), m => (int?)RtnetlinkMessages.DecodeOutputInterface(m)));
    }

    [Fact]
    public void A_link_decodes_with_its_name_state_and_address()
    {
        var link = DecodeOne(Link, RtnetlinkMessages.DecodeLink)!;

        Assert.Equal((3, "cali1", true), (link.Index, link.Name, link.IsUp));
        Assert.Equal([0x96, 0xc4, 0x86, 0x4d, 0xd7, 0x2c], link.Address);
    }

    [Fact]
    public void An_error_carries_its_errno_and_the_extended_ack_message()
    {
        var reader = new NetlinkReader(Bytes(ErrorWithMessage));
        Assert.True(reader.TryRead(out var message));

        Assert.Equal((22, "Nexthop has invalid gateway"), RtnetlinkMessages.DecodeError(message));
        Assert.False(reader.TryRead(out _));
    }

    [Fact]
    public void Several_messages_of_one_datagram_are_read_in_turn_and_the_last_may_be_unpadded()
    {
        var datagram = Bytes(Route + Link + "14000000 0300 0200 09000000 00000000 00000000")[..^2];
        datagram[^18] = 0x12;

        var reader = new NetlinkReader(datagram);
        var types = new List<ushort>();
        while (reader.TryRead(out var message))
        {
            types.Add(message.Header.nlmsg_type);
        }

        Assert.Equal([24, 16, 3], types);
    }

    [Theory]
    [InlineData("", "", null)]
    [InlineData("10000000 0300 0200 0900", "too few for a message header", null)]
    [InlineData("0c000000 0300 0200 09000000 00000000", "message length 12", null)]
    [InlineData("40000000 0300 0200 09000000 00000000", "message length 64 outside 16..16", null)]
    [InlineData("14000000 1800 0200 09000000 00000000 02200000", "too few for rtmsg", "route")]
    [InlineData("22000000 1800 0200 09000000 00000000 02 20 00 00 fe 50 fd 01 00000000 0300 0100 0a41", "length 3", "route")]
    [InlineData("24000000 1800 0200 09000000 00000000 02 20 00 00 fe 50 fd 01 00000000 0c00 0100 0a410007", "length 12 outside 4..8", "route")]
    [InlineData("24000000 1800 0200 09000000 00000000 02 20 00 00 fe 50 fd 01 00000000 0600 0100 0a41 0000", "RTA_DST of 2 bytes", "route")]
    [InlineData("24000000 1800 0200 09000000 00000000 02 21 00 00 fe 50 fd 01 00000000 0800 0100 0a410007", "/33 longer than /32", "route")]
    [InlineData("24000000 1800 0200 09000000 00000000 07 20 00 00 fe 50 fd 01 00000000 0800 0100 0a410007", "address family 7", "route")]
    [InlineData("24000000 1800 0200 09000000 00000000 02 18 00 00 fe 50 fd 01 00000000 0800 0100 0a410007", "host bits", "route")]
    [InlineData("24000000 1800 0200 09000000 00000000 02 20 00 00 fe 50 fd 01 00000000 0600 0400 0500 0000", "expected 4", "route")]
    [InlineData("12000000 1000 0000 00000000 00000000 0000", "too few for ifinfomsg", "link")]
    [InlineData("24000000 0200 0002 07000000 00000000 eaffffff 2c000000 1800 0505 07000000 00000000", "claims TLVs after byte 48", "error")]
    [InlineData("14000000 0200 0000 07000000 00000000 eaffffff", "too few for nlmsgerr", "error")]
    public void Malformed_answers_are_typed_errors(string hex, string reason, string? decoder)
    {
        var thrown = Record.Exception(() => DecodeAll(Bytes(hex), decoder));

        if (hex.Length == 0)
        {
            Assert.Null(thrown);
            return;
        }
        var malformed = Assert.IsType<MalformedNetlinkException>(thrown);
        Assert.Contains(reason, malformed.Message, StringComparison.Ordinal);
    }

    /// <summary>Reads every message and decodes each with <paramref name="decoder"/> (or by its type).</summary>
    internal static void DecodeAll(ReadOnlySpan<byte> datagram, string? decoder = null)
    {
        var reader = new NetlinkReader(datagram);
        while (reader.TryRead(out var message))
        {
            switch (decoder ?? message.Header.nlmsg_type switch { 2 => "error", 16 or 17 => "link", _ => "route" })
            {
                case "error":
                    RtnetlinkMessages.DecodeError(message);
                    break;
                case "link":
                    RtnetlinkMessages.DecodeLink(message);
                    break;
                default:
                    RtnetlinkMessages.DecodeRoute(message);
                    break;
            }
        }
    }

    internal static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    private delegate T? Decoder<T>(NetlinkMessage message);

    private static T? DecodeOne<T>(string hex, Decoder<T> decode)
    {
        var reader = new NetlinkReader(Bytes(hex));
        Assert.True(reader.TryRead(out var message));
        var decoded = decode(message);
        Assert.False(reader.TryRead(out _));
        return decoded;
    }
}
