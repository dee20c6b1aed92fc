using System.Net;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Netlink.Interop;

namespace Felix.Dataplane.Tests.Netlink;

/// <summary>
/// The ctnetlink messages of a conntrack flush: the dump and delete requests byte for byte, and
/// the match of a dumped entry against the flushed addresses, on entries laid out as the kernel
/// sends them (nested attributes flagged <c>NLA_F_NESTED</c>, ports and zone big-endian).
/// </summary>
public sealed class CtnetlinkMessagesTests
{
    // CTA_TUPLE_IP { V4_SRC 10.65.0.1, V4_DST 10.0.0.9 }, CTA_TUPLE_PROTO { NUM 6, SRC_PORT 40000, DST_PORT 80 }
    private const string OriginalTuple =
        "1400 0180 0800 0100 0a410001 0800 0200 0a000009 " +
        "1c00 0280 0500 0100 06000000 0600 0200 9c400000 0600 0300 00500000";

    [Fact]
    public void A_dump_names_the_family_and_nothing_else()
    {
        Span<byte> buffer = stackalloc byte[64];
        var writer = new NetlinkWriter(buffer);

        CtnetlinkMessages.WriteDump(ref writer, 7, IpVersion.V6);

        // nlmsghdr: len 20, IPCTNL_MSG_CT_GET (ctnetlink 1 << 8 | 1), REQUEST|DUMP, seq 7; nfgenmsg: AF_INET6, v0, res_id 0
        Assert.Equal(Hex("14000000 0101 0103 07000000 00000000 0a 00 0000"), Convert.ToHexStringLower(writer.Written));
    }

    [Fact]
    public void A_delete_sends_the_dumped_tuple_and_zone_back_verbatim()
    {
        Span<byte> buffer = stackalloc byte[CtnetlinkMessages.MaxDeleteSize];
        var writer = new NetlinkWriter(buffer);
        var entry = new ConntrackEntry(Convert.FromHexString(Hex(OriginalTuple)), [0x00, 0x05]);

        CtnetlinkMessages.WriteDelete(ref writer, 9, IpVersion.V4, entry);

        // IPCTNL_MSG_CT_DELETE, REQUEST|ACK; CTA_TUPLE_ORIG (nested) as dumped; CTA_ZONE 5, padded
        Assert.Equal(
            Hex("50000000 0201 0500 09000000 00000000 02 00 0000 " + "3400 0180 " + OriginalTuple + " 0600 1200 0005 0000"),
            Convert.ToHexStringLower(writer.Written));
    }

    [Theory]
    [InlineData("10.65.0.1", true)]
    [InlineData("10.0.0.9", true)]
    [InlineData("10.65.0.2", true)]
    [InlineData("10.96.0.10", false)]
    [InlineData("10.65.0.3", false)]
    public void An_entry_matches_on_any_of_its_four_addresses(string address, bool matches)
    {
        // Original 10.65.0.1 -> 10.0.0.9; reply 10.65.0.2 -> 10.65.0.1 (DNATed, as to a service).
        var message = Entry(OriginalTuple, "1400 0180 0800 0100 0a410002 0800 0200 0a410001", zone: null);
        var wanted = new ConntrackAddressSet(IpVersion.V4, [IPAddress.Parse(address)]);

        var entry = Decode(message, wanted);

        Assert.Equal(matches, entry is not null);
        if (entry is not null)
        {
            Assert.Equal(Hex(OriginalTuple), Convert.ToHexStringLower(entry.OriginalTuple));
            Assert.Null(entry.Zone);
        }
    }

    [Fact]
    public void The_zone_of_a_matching_entry_is_kept_for_its_delete()
    {
        var message = Entry(OriginalTuple, "1400 0180 0800 0100 0a000009 0800 0200 0a410001", zone: "0600 1200 0007 0000");

        var entry = Decode(message, new ConntrackAddressSet(IpVersion.V4, [IPAddress.Parse("10.65.0.1")]));

        Assert.Equal([0x00, 0x07], entry!.Zone);
    }

    [Fact]
    public void Addresses_of_the_other_family_are_not_in_the_set()
    {
        var set = new ConntrackAddressSet(IpVersion.V6, [IPAddress.Parse("10.65.0.1"), IPAddress.Parse("fd00::1")]);

        Assert.Equal(1, set.Count);
        Assert.True(set.Contains(IPAddress.Parse("fd00::1").GetAddressBytes()));
        Assert.False(set.Contains(IPAddress.Parse("10.65.0.1").GetAddressBytes()));
    }

    [Fact]
    public void An_entry_whose_tuple_is_cut_short_is_malformed()
    {
        // CTA_TUPLE_IP claims 20 bytes but the tuple holds 12.
        var message = Entry("1400 0180 0800 0100 0a410001", "0c00 0180 0800 0100 0a410001", zone: null);

        Assert.Throws<MalformedNetlinkException>(() => Decode(message, new ConntrackAddressSet(IpVersion.V4, [IPAddress.Parse("10.65.0.1")])));
    }

    /// <summary>
    /// fuzz/regressions/netlink/conntrack-zone-longer-than-its-delete: a matching entry whose zone
    /// holds 200 bytes (here 100, which makes the same point). Copied verbatim into its delete, it overflowed the buffer sized for
    /// <see cref="CtnetlinkMessages.MaxDeleteSize"/> with an InvalidOperationException, which
    /// escaped the flush instead of a NetlinkException.
    /// </summary>
    [Fact]
    public void An_entry_whose_zone_is_longer_than_a_zone_is_malformed()
    {
        var message = Entry(OriginalTuple, "1400 0180 0800 0100 0a000009 0800 0200 0a410001", zone: "6800 1200 " + string.Concat(Enumerable.Repeat("00", 100)));

        Assert.Throws<MalformedNetlinkException>(() => Decode(message, new ConntrackAddressSet(IpVersion.V4, [IPAddress.Parse("10.65.0.1")])));
    }

    [Fact]
    public void The_largest_entry_accepted_fits_its_delete()
    {
        // CTA_TUPLE_IP { V4_SRC 10.65.0.1, an attribute of 176 bytes }: 192 bytes, the most a tuple may hold.
        var tuple = "c000 0180 0800 0100 0a410001 b400 6300 " + string.Concat(Enumerable.Repeat("00", 176));
        var message = Entry(tuple, "0c00 0180 0800 0100 0a410001", zone: "0800 1200 00070000");
        var entry = Decode(message, new ConntrackAddressSet(IpVersion.V4, [IPAddress.Parse("10.65.0.1")]));
        Span<byte> buffer = stackalloc byte[CtnetlinkMessages.MaxDeleteSize];
        var writer = new NetlinkWriter(buffer);

        CtnetlinkMessages.WriteDelete(ref writer, 9, IpVersion.V4, entry!);

        Assert.Equal(CtnetlinkMessages.MaxDeleteSize, writer.Position);
    }

    /// <summary>An <c>IPCTNL_MSG_CT_NEW</c> of a dump: the two tuples, a status attribute in between, the zone if given.</summary>
    private static byte[] Entry(string original, string reply, string? zone)
    {
        var attributes = Convert.FromHexString(Hex(
            $"{Length(original)}00 0180 {original} {Length(reply)}00 0280 {reply} 0800 0300 0000018e {zone ?? ""}"));
        var length = 16 + 4 + attributes.Length;
        var header = Convert.FromHexString(Hex($"{length:x2}000000 0001 0200 01000000 00000000 02 00 0000"));
        return [.. header, .. attributes];
    }

    private static string Length(string spaced) => $"{4 + (Hex(spaced).Length / 2):x2}";

    private static ConntrackEntry? Decode(byte[] datagram, ConntrackAddressSet wanted)
    {
        var reader = new NetlinkReader(datagram);
        Assert.True(reader.TryRead(out var message));
        Assert.Equal(CtnetlinkConstants.IPCTNL_MSG_CT_NEW, message.Header.nlmsg_type);
        return CtnetlinkMessages.Match(message, wanted);
    }

    private static string Hex(string spaced) => spaced.Replace(" ", "", StringComparison.Ordinal);
}
