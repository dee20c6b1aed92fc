using System.Buffers.Binary;
using System.Net;
using Felix.Dataplane.Netlink;

namespace Felix.Dataplane.Routes;

public sealed partial class RouteTable
{
    /// <summary>
    /// Design: answers the route dump for the table. A route it holds exactly as recorded (the
    /// usual case at a refresh) is marked found and its link noted, and is neither decoded nor
    /// listed. At 100k routes this is most of a refresh's own work, so it touches as little memory
    /// as it can: the kernel sends its routes in the same order each time, so the destination the
    /// last dump had at this place is tried first (no hashing), and an IPv4 route is compared with
    /// the record's <see cref="RouteState.KernelPrint"/>, two words in the destination's state,
    /// not with the <see cref="RouteSpec"/> and its addresses. Any other route is looked up by its
    /// destination's bytes.
    /// </summary>
    private sealed class KnownRoutes(RouteTable table) : IKnownRoutes
    {
        private RouteState[] _order = [];
        private int _orderCount;
        private RouteState[] _nextOrder = [];
        private int _nextCount;
        private int _cursor;
        private int _lastLink;

        public void DumpStarting()
        {
            if (_nextCount > 0)
            {
                // The order the last dump came in (all of it, or as far as it got) is the one to try.
                var stale = _orderCount;
                (_order, _nextOrder, _orderCount) = (_nextOrder, _order, _nextCount);
                // No state is kept alive by an order it is no longer in.
                Array.Clear(_nextOrder, 0, stale);
            }
            (_nextCount, _cursor, _lastLink) = (0, 0, 0);
            table._readBackGeneration++;
            table._heldCount = 0;
            table._carrying.Clear();
        }

        public bool Holds(in DumpedRoute route)
        {
            var print = KernelPrint.Of(route);
            var state = _cursor < _orderCount ? _order[_cursor] : null;
            if (state is null || print.IsNone || state.KernelPrint != print)
            {
                state = Find(route);
                if (state is null)
                {
                    return false;
                }
            }
            // A second route to the destination: the adopt sees it, as one of the others.
            if (state.ReadBackGeneration == table._readBackGeneration)
            {
                return false;
            }
            state.ReadBackGeneration = table._readBackGeneration;
            table._heldCount++;
            // Routes through one link (an uplink's) often come in a run: one set insertion for the run.
            if (route.InterfaceIndex != 0 && route.InterfaceIndex != _lastLink)
            {
                table._carrying.Add(route.InterfaceIndex);
                _lastLink = route.InterfaceIndex;
            }
            if (_nextCount == _nextOrder.Length)
            {
                Array.Resize(ref _nextOrder, Math.Max(1024, _nextCount * 2));
            }
            _cursor = state.DumpIndex + 1;
            state.DumpIndex = _nextCount;
            _nextOrder[_nextCount++] = state;
            return true;
        }

        /// <summary>The state whose recorded route this is, by its destination; null when none is.</summary>
        private RouteState? Find(in DumpedRoute route) =>
            table._routesByBytes.TryGetValue(new DestinationBytes(route.Destination, route.PrefixLength), out var state)
            && state.Kernel is { } held && route.IsSameRouteTo(held)
                ? state
                : null;
    }
}

/// <summary>
/// An IPv4 route's fields packed in two words: destination and gateway; link, prefix length, scope,
/// protocol and flags. Equal prints are equal routes. None (zero) for IPv6 routes and no route.
/// </summary>
internal readonly record struct KernelPrint(ulong Addresses, ulong Rest)
{
    private const ulong Valid = 0x80;

    public bool IsNone => Rest == 0;

    public static KernelPrint Of(in DumpedRoute route) =>
        route.Destination.Length != 4
            ? default
            : Pack(BinaryPrimitives.ReadUInt32BigEndian(route.Destination), route.Gateway.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(route.Gateway) : 0,
                !route.Gateway.IsEmpty, route.InterfaceIndex, route.PrefixLength, route.Scope, route.Protocol, route.OnLink);

    public static KernelPrint Of(RouteSpec? route)
    {
        if (route is null || route.Destination.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            return default;
        }
        return Pack(Word(route.Destination.BaseAddress), route.Gateway is { } gateway ? Word(gateway) : 0, route.Gateway is not null,
            route.InterfaceIndex, route.Destination.PrefixLength, route.Scope, route.Protocol, route.OnLink);
    }

    private static KernelPrint Pack(uint destination, uint gateway, bool hasGateway, int interfaceIndex, int prefixLength, RouteScope scope,
        byte protocol, bool onLink) =>
        new(((ulong)destination << 32) | gateway,
            ((ulong)(uint)interfaceIndex << 32) | ((ulong)(byte)prefixLength << 24) | ((ulong)(byte)scope << 16) | ((ulong)protocol << 8)
            | Valid | (hasGateway ? 2UL : 0) | (onLink ? 1UL : 0));

    private static uint Word(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        return address.TryWriteBytes(bytes, out _) ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : 0;
    }
}
