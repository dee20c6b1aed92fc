using System.Net;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Netlink.Interop;
using static Felix.Dataplane.Netlink.Interop.CtnetlinkConstants;
using static Felix.Fuzz.FuzzTargets;

namespace Felix.Fuzz;

/// <summary>
/// The netlink decoders as the route and conntrack sockets drive them. An input is one received
/// datagram. It is read message by message with <see cref="NetlinkReader"/>, and every message is
/// handed to every decoder (link, route, route lookup, error, conntrack entry), whatever its
/// type: a decoder must cope with any bytes, and trying them all lets the fuzzer reach each one
/// without first guessing its message type. <see cref="MalformedNetlinkException"/> is the one
/// documented rejection; any other exception is a finding. What a decoder accepts must be
/// usable: a dumped route converts to a <see cref="RouteSpec"/> that the dump recognises as itself
/// and that survives being written as a request and read back, and a conntrack entry to delete
/// fits the buffer its delete is written into.
/// </summary>
internal static class NetlinkTarget
{
    private const int HeaderSize = 16;

    // Flushed addresses, among them the zero addresses, which a mutated tuple holds most often.
    private static readonly ConntrackAddressSet FlushedV4 = new(IpVersion.V4, [IPAddress.Parse("10.65.0.2"), IPAddress.Any]);
    private static readonly ConntrackAddressSet FlushedV6 = new(IpVersion.V6, [IPAddress.Parse("fd00::2"), IPAddress.IPv6Any]);

    public static void Run(ReadOnlySpan<byte> input)
    {
        var reader = new NetlinkReader(input);
        var messages = 0;
        while (true)
        {
            NetlinkMessage message;
            try
            {
                if (!reader.TryRead(out message))
                {
                    return;
                }
            }
            catch (MalformedNetlinkException)
            {
                // The sockets give up on the whole datagram here: past a bad length nothing can be trusted.
                return;
            }
            // Each message takes at least a header: more would mean the reader went round in circles.
            Require(++messages <= input.Length / HeaderSize, $"{messages} messages read from {input.Length} bytes");
            Link(message);
            Route(message);
            OutputInterface(message);
            Error(message);
            Conntrack(message, IpVersion.V4, FlushedV4);
            Conntrack(message, IpVersion.V6, FlushedV6);
        }
    }

    private static void Link(NetlinkMessage message)
    {
        try
        {
            if (RtnetlinkMessages.DecodeLink(message) is { } link)
            {
                Require(link.Index == message.Fixed<ifinfomsg>().ifi_index, $"link {link.Name} decoded with index {link.Index}");
            }
        }
        catch (MalformedNetlinkException)
        {
        }
    }

    private static void Route(NetlinkMessage message)
    {
        RouteSpec spec;
        try
        {
            if (!RtnetlinkMessages.ReadRoute(message, out var dumped))
            {
                return;
            }
            var length = dumped.Destination.Length;
            Require(length is 4 or 16 && dumped.PrefixLength <= length * 8, $"route to {length} address bytes /{dumped.PrefixLength}");
            Require(dumped.Gateway.IsEmpty || dumped.Gateway.Length == length, $"route with a gateway of {dumped.Gateway.Length} bytes to {length}-byte addresses");
            spec = dumped.ToSpec();
            Require(dumped.Is(spec), $"dumped route does not match its own spec {spec}");
        }
        catch (MalformedNetlinkException)
        {
            return;
        }
        // Outside the catch: our own request failing to read back is a finding, not a rejection.
        RoundTrip(spec);
    }

    /// <summary>A dumped route is written back to the kernel when the agent replaces or deletes it: both must fit and read back the same.</summary>
    private static void RoundTrip(RouteSpec spec)
    {
        var buffer = new byte[RtnetlinkMessages.MaxRequestSize];
        var deleting = new NetlinkWriter(buffer);
        RtnetlinkMessages.Write(ref deleting, new DeleteRoute(spec), 1);
        var writer = new NetlinkWriter(buffer);
        RtnetlinkMessages.Write(ref writer, new ReplaceRoute(spec), 1);
        var reader = new NetlinkReader(writer.Written);
        Require(reader.TryRead(out var written) && RtnetlinkMessages.DecodeRoute(written) is { } back && back.Equals(spec),
            $"route {spec} does not read back from its replace request");
    }

    private static void OutputInterface(NetlinkMessage message)
    {
        try
        {
            RtnetlinkMessages.DecodeOutputInterface(message);
        }
        catch (MalformedNetlinkException)
        {
        }
    }

    private static void Error(NetlinkMessage message)
    {
        try
        {
            RtnetlinkMessages.DecodeError(message);
        }
        catch (MalformedNetlinkException)
        {
        }
    }

    private static void Conntrack(NetlinkMessage message, IpVersion family, ConntrackAddressSet flushed)
    {
        ConntrackEntry? entry;
        try
        {
            entry = CtnetlinkMessages.Match(message, flushed);
        }
        catch (MalformedNetlinkException)
        {
            return;
        }
        if (entry is null)
        {
            return;
        }
        Require(entry.OriginalTuple.Length is > 0 and <= CtnetlinkMessages.MaxTupleBytes, $"conntrack entry with a tuple of {entry.OriginalTuple.Length} bytes");
        // ConntrackNetlink sizes its send buffer at MaxDeleteSize per delete.
        var buffer = new byte[CtnetlinkMessages.MaxDeleteSize];
        var writer = new NetlinkWriter(buffer);
        try
        {
            CtnetlinkMessages.WriteDelete(ref writer, 1, family, entry);
        }
        catch (InvalidOperationException e)
        {
            throw new FuzzFindingException($"the delete of a conntrack entry (tuple {entry.OriginalTuple.Length} bytes, zone {entry.Zone?.Length} bytes) does not fit {buffer.Length} bytes", e);
        }
        var reader = new NetlinkReader(writer.Written);
        Require(reader.TryRead(out var written), "conntrack delete does not read back");
        var attributes = written.Attributes<nfgenmsg>();
        var (tuple, zone) = (false, entry.Zone is null);
        while (attributes.TryRead(out var type, out var value))
        {
            tuple |= type == CTA_TUPLE_ORIG && value.SequenceEqual(entry.OriginalTuple);
            zone |= type == CTA_ZONE && value.SequenceEqual(entry.Zone);
        }
        Require(tuple && zone, "conntrack delete does not carry the entry's tuple and zone");
    }
}
