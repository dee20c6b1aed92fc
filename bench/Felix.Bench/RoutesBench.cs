using System.Diagnostics;
using System.Net;
using System.Text;
using Felix.Dataplane;
using Felix.Dataplane.Exec;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Netlink.Interop;
using Felix.Dataplane.Routes;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;
using static Felix.Dataplane.Netlink.Interop.NetlinkConstants;

namespace Felix.Bench;

/// <summary>
/// The route figures, IPv4, inside a namespace of the bench's own (this scenario runs from inside
/// it, see <see cref="BenchNamespace.RunInsideAsync"/>). Cold: a fresh <see cref="RouteTable"/>
/// (its first apply lists the links and dumps the table, then sends one pipelined batch) against
/// the floor of <c>ip -batch</c> adding the same routes through one veth, alternating which goes
/// first, the routes flushed between runs (untimed). Refresh: with the routes programmed and nothing
/// changed, a read-back and diff (<see cref="RouteTable.RequestReadBack"/> + apply), against the
/// floor of the raw netlink dump of the routes (received, not decoded) — first with every route
/// through one veth, then in the live agent's shape (<see cref="AgentShapeAsync"/>).
/// </summary>
internal static class RoutesBench
{
    private const string Interface = "calibench0";
    private const byte Protocol = 80;
    private const double RefreshTargetMillis = 100;

    /// <summary>The live agent's shape: one local route per workload, this many routes per workload in all (the rest remote).</summary>
    private const int RoutesPerWorkload = 10;

    /// <summary>Remote endpoints per remote host (its <c>bird_ip</c> the gateway), as in <see cref="E2eModel"/>.</summary>
    private const int EndpointsPerRemoteHost = 100;

    public static async Task<int> RunAsync(int coldRoutes, int refreshRoutes, int runs)
    {
        if (!BenchNamespace.IsInside)
        {
            Console.Error.WriteLine("routes: must run inside its namespace");
            return 1;
        }
        var workloads = refreshRoutes / RoutesPerWorkload;
        Console.WriteLine($"routes: IPv4 /32 routes ({coldRoutes} cold and {refreshRoutes} for the refresh through one veth; then {refreshRoutes} " +
            $"in the agent's shape: {workloads} workload veth pairs, one local route each, the rest via gateways; {runs} runs, medians)");
        await using var netns = await BenchNamespace.CreateAsync();
        try
        {
            // As in the e2e bench, whose agent runs IPv4 only: 20k links each starting IPv6 addrconf take minutes to create.
            await netns.RunCheckedAsync("sysctl", ["-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
            await netns.RunCheckedAsync("ip", ["link", "add", Interface, "type", "veth", "peer", "name", "peerbench0"]);
            await netns.RunCheckedAsync("ip", ["link", "set", Interface, "up"]);
            await netns.RunCheckedAsync("ip", ["link", "set", "peerbench0", "up"]);
            using var netlink = RouteNetlink.Open();
            await ColdAsync(netns, netlink, Destinations(coldRoutes), runs);
            await RefreshAsync(netns, netlink, Destinations(refreshRoutes), runs);
            return await AgentShapeAsync(netns, netlink, refreshRoutes, workloads, runs);
        }
        catch (Exception e) when (e is InvalidOperationException or NetlinkException)
        {
            Console.Error.WriteLine($"routes: {e.Message}");
            return 1;
        }
    }

    private static async Task ColdAsync(BenchNamespace netns, RouteNetlink netlink, List<IPNetwork> destinations, int runs)
    {
        var script = new StringBuilder();
        foreach (var destination in destinations)
        {
            script.Append($"route replace {destination} dev {Interface} proto {Protocol} scope link\n");
        }
        await AgentApplyAsync(netlink, destinations.Take(100).ToList());
        await FlushAsync(netns);
        var (floor, agent) = (new List<double>(), new List<double>());
        for (var run = 0; run < runs; run++)
        {
            if (run % 2 == 0)
            {
                floor.Add(await FloorAsync(netns, script.ToString(), destinations.Count, netlink));
            }
            var watch = Stopwatch.StartNew();
            await AgentApplyAsync(netlink, destinations);
            agent.Add(watch.Elapsed.TotalMilliseconds);
            Check(netlink, destinations.Count);
            await FlushAsync(netns);
            if (run % 2 == 1)
            {
                floor.Add(await FloorAsync(netns, script.ToString(), destinations.Count, netlink));
            }
        }
        var ratio = Median(agent) / Median(floor);
        Figure($"cold floor: ip -batch, {destinations.Count} route replaces", Median(floor));
        Figure("cold agent: fresh RouteTable, SetRoutes + ApplyAsync (links, dump, batch)", Median(agent),
            $"{ratio:0.00}x floor, target ≤ 1.0x: {Verdict(ratio <= 1.0)}");
    }

    private static async Task RefreshAsync(BenchNamespace netns, RouteNetlink netlink, List<IPNetwork> destinations, int runs)
    {
        var table = NewTable(netlink);
        table.SetRoutes(Interface, destinations);
        await ProgramAsync(table, netlink, destinations.Count);
        using var raw = new RawDump();
        var (floor, _, refresh) = await MeasureRefreshAsync(table, raw, destinations.Count, runs);
        await FlushAsync(netns);
        Figure($"refresh floor: raw netlink dump of {destinations.Count} routes, all through one link", floor);
        Figure("refresh agent: RequestReadBack + ApplyAsync, nothing to change", refresh);
    }

    /// <summary>
    /// The refresh in the live agent's shape (the e2e bench's host): a veth pair per workload, both
    /// ends in the namespace as there, so twice as many links as workloads (veths rather than dummy
    /// links: they are what the agent meets, their link messages the size it reads, and not every
    /// kernel has the dummy type); one /32 through each workload's cali veth (scope link), and the
    /// rest of the routes to remote endpoints via their hosts' addresses on a LAN link
    /// (RemoteWorkloadRoutes). The table measured programs them first.
    /// </summary>
    private static async Task<int> AgentShapeAsync(BenchNamespace netns, RouteNetlink netlink, int routes, int workloads, int runs)
    {
        // The LAN link before the veths: a workload route's source address is searched for link by link, and it is the first with one.
        await netns.RunCheckedAsync("ip", ["-batch", "-"], $"link add {E2eModel.LanLink} type veth peer name {E2eModel.LanLink}-peer\n" +
            $"address add {E2eModel.LanAddress} dev {E2eModel.LanLink}\nlink set {E2eModel.LanLink} up\nlink set {E2eModel.LanLink}-peer up\n");
        var watch = Stopwatch.StartNew();
        await netns.RunCheckedAsync("ip", ["-batch", "-"], E2eModel.Veths(Enumerable.Range(0, workloads)));
        var created = watch.Elapsed;
        var table = NewTable(netlink);
        for (var e = 0; e < workloads; e++)
        {
            table.SetRoutes(E2eModel.InterfaceName(e), [new IPNetwork(E2eModel.Address(e), 32)]);
        }
        for (var r = 0; r < routes - workloads; r++)
        {
            table.SetRemoteRoutes($"rpod-{r}", [new IPNetwork(E2eModel.RemoteAddress(r), 32)], RemoteGateway(r));
        }
        watch.Restart();
        await ProgramAsync(table, netlink, routes);
        Console.WriteLine($"  agent's shape: {2 * workloads} veths created in {created.TotalSeconds:0.0} s, {routes} routes programmed in {watch.Elapsed.TotalSeconds:0.0} s");
        using var raw = new RawDump();
        var (floor, links, refresh) = await MeasureRefreshAsync(table, raw, routes, runs);
        await FlushAsync(netns);
        Figure($"agent's shape, refresh floor: raw netlink dump of {routes} routes", floor);
        Figure($"agent's shape, for reference: raw netlink dump of the {links.Count} links", links.Millis);
        Figure("agent's shape, refresh agent: RequestReadBack + ApplyAsync, nothing to change", refresh,
            $"target ≤ {RefreshTargetMillis} ms: {Verdict(refresh <= RefreshTargetMillis)}");
        return 0;
    }

    /// <summary>
    /// Medians over <paramref name="runs"/> (after one warm-up) of the raw route dump, the raw link
    /// dump and the table's no-op refresh, interleaved so that each sees the same machine.
    /// </summary>
    private static async Task<(double Floor, (int Count, double Millis) Links, double Refresh)> MeasureRefreshAsync(
        RouteTable table, RawDump raw, int routes, int runs)
    {
        var (dump, linkDump, refresh) = (new List<double>(), new List<double>(), new List<double>());
        var links = 0;
        for (var run = 0; run <= runs; run++)
        {
            var watch = Stopwatch.StartNew();
            var listed = raw.Routes();
            var dumped = watch.Elapsed.TotalMilliseconds;
            watch.Restart();
            links = raw.Links();
            var linksDumped = watch.Elapsed.TotalMilliseconds;
            table.RequestReadBack();
            watch.Restart();
            var applied = await table.ApplyAsync(CancellationToken.None);
            var refreshed = watch.Elapsed.TotalMilliseconds;
            if (!applied || listed != routes || table.HasPendingWork)
            {
                throw new InvalidOperationException($"refresh run {run}: applied {applied}, {listed} routes listed, pending work {table.HasPendingWork}");
            }
            if (run > 0)
            {
                (dump, linkDump, refresh) = ([.. dump, dumped], [.. linkDump, linksDumped], [.. refresh, refreshed]);
            }
        }
        return (Median(dump), (links, Median(linkDump)), Median(refresh));
    }

    private static async Task ProgramAsync(RouteTable table, RouteNetlink netlink, int routes)
    {
        if (!await table.ApplyAsync(CancellationToken.None))
        {
            throw new InvalidOperationException("programming the routes for the refresh failed");
        }
        Check(netlink, routes);
    }

    private static async Task<double> FloorAsync(BenchNamespace netns, string script, int count, RouteNetlink netlink)
    {
        var watch = Stopwatch.StartNew();
        await netns.RunCheckedAsync("ip", ["-batch", "-"], script);
        var millis = watch.Elapsed.TotalMilliseconds;
        Check(netlink, count);
        await FlushAsync(netns);
        return millis;
    }

    private static async Task AgentApplyAsync(RouteNetlink netlink, List<IPNetwork> destinations)
    {
        var table = NewTable(netlink);
        table.SetRoutes(Interface, destinations);
        if (!await table.ApplyAsync(CancellationToken.None))
        {
            throw new InvalidOperationException("RouteTable.ApplyAsync failed");
        }
    }

    /// <summary>One conntrack socket for every table, opened where the bench runs: inside its namespace, never the host's.</summary>
    private static readonly Lazy<ConntrackNetlink> Conntrack = new(ConntrackNetlink.Open);

    private static RouteTable NewTable(RouteNetlink netlink) =>
        new(IpVersion.V4, netlink, Conntrack.Value, new RouteTableMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry())),
            NullLogger.Instance, new RouteTableOptions { RefreshInterval = TimeSpan.Zero, DeviceRouteProtocol = Protocol }, TimeProvider.System);

    private static void Check(RouteNetlink netlink, int count)
    {
        var listed = netlink.ListRoutes(IpVersion.V4, Protocol).Count;
        if (listed != count)
        {
            throw new InvalidOperationException($"{listed} routes of protocol {Protocol} in the table, expected {count}");
        }
    }

    private static async Task FlushAsync(BenchNamespace netns) =>
        await netns.RunCheckedAsync("ip", ["-4", "route", "flush", "proto", Protocol.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    private static List<IPNetwork> Destinations(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new IPNetwork(new IPAddress([10, (byte)(64 + (i >> 16)), (byte)(i >> 8), (byte)i]), 32))];

    /// <summary>Remote endpoint r's host's address (its <c>bird_ip</c>), as <see cref="E2eModel.RemoteEndpoints"/> gives it.</summary>
    private static IPAddress RemoteGateway(int r)
    {
        var h = r / EndpointsPerRemoteHost;
        return new IPAddress([172, 17, (byte)((h + 1) >> 8), (byte)((h + 1) & 0xff)]);
    }

    /// <summary>One figure, its milliseconds in a column of their own, and a note (a ratio, a verdict) after them.</summary>
    private static void Figure(string what, double millis, string? note = null) =>
        Console.WriteLine($"  {what,-84}{millis,8:0.0} ms" + (note is null ? "" : $"  ({note})"));

    private static string Verdict(bool met) => met ? "OK" : "MISS";

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>
    /// The floor's dumps: the request the table sends, on a socket of their own, every datagram
    /// received and walked message by message to <c>NLMSG_DONE</c>, nothing decoded — what any
    /// reader of the kernel's answer pays.
    /// </summary>
    private sealed class RawDump : IDisposable
    {
        private readonly NetlinkSocket _socket = NetlinkSocket.Open(NETLINK_ROUTE, 0, TimeSpan.FromSeconds(10), 1 << 20);
        private readonly byte[] _send = new byte[RtnetlinkMessages.MaxRequestSize];
        private readonly byte[] _receive = new byte[256 * 1024];
        private uint _sequence;

        /// <summary>Our protocol's routes in the main table, as many as the kernel sent.</summary>
        public int Routes()
        {
            var writer = new NetlinkWriter(_send);
            RtnetlinkMessages.WriteRouteDump(ref writer, ++_sequence, IpVersion.V4, Protocol);
            return Count(writer.Written, RTM_NEWROUTE);
        }

        /// <summary>Every link, as many as the kernel sent.</summary>
        public int Links()
        {
            var writer = new NetlinkWriter(_send);
            RtnetlinkMessages.WriteLinkDump(ref writer, ++_sequence);
            return Count(writer.Written, RTM_NEWLINK);
        }

        public void Dispose() => _socket.Dispose();

        private int Count(ReadOnlySpan<byte> request, ushort answer)
        {
            _socket.Send(request);
            var count = 0;
            while (true)
            {
                var reader = new NetlinkReader(_receive.AsSpan(0, _socket.Receive(_receive)));
                while (reader.TryRead(out var message))
                {
                    if (message.Header.nlmsg_type == NLMSG_DONE)
                    {
                        return count;
                    }
                    if (message.Header.nlmsg_type == NLMSG_ERROR)
                    {
                        throw new NetlinkException($"dump refused: errno {-message.Fixed<nlmsgerr>().error}");
                    }
                    count += message.Header.nlmsg_type == answer ? 1 : 0;
                }
            }
        }
    }
}
