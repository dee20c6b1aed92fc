using System.Diagnostics;
using System.Net;
using System.Text;
using Felix.Dataplane;
using Felix.Dataplane.Exec;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Felix.Bench;

/// <summary>
/// The route figures, IPv4, inside a namespace of the bench's own (this scenario runs from inside
/// it, see <see cref="BenchNamespace.RunInsideAsync"/>), all routes through one veth. Cold: a fresh
/// <see cref="RouteTable"/> (its first apply lists the links and dumps the table, then sends one
/// pipelined batch) against the floor of <c>ip -batch</c> adding the same routes, alternating
/// which goes first, the routes flushed between runs (untimed). Refresh: with 100k routes
/// programmed and nothing changed, a read-back and diff (<see cref="RouteTable.RequestReadBack"/> +
/// apply), against the floor of the netlink dump alone.
/// </summary>
internal static class RoutesBench
{
    private const string Interface = "calibench0";
    private const byte Protocol = 80;
    private const double RefreshTargetMillis = 100;

    public static async Task<int> RunAsync(int coldRoutes, int refreshRoutes, int runs)
    {
        if (!BenchNamespace.IsInside)
        {
            Console.Error.WriteLine("routes: must run inside its namespace");
            return 1;
        }
        Console.WriteLine($"routes: IPv4 /32 routes through one veth ({coldRoutes} cold, {refreshRoutes} for the refresh; {runs} runs, medians)");
        await using var netns = await BenchNamespace.CreateAsync();
        try
        {
            await netns.RunCheckedAsync("ip", ["link", "add", Interface, "type", "veth", "peer", "name", "peerbench0"]);
            await netns.RunCheckedAsync("ip", ["link", "set", Interface, "up"]);
            await netns.RunCheckedAsync("ip", ["link", "set", "peerbench0", "up"]);
            using var netlink = RouteNetlink.Open();
            await ColdAsync(netns, netlink, Destinations(coldRoutes), runs);
            return await RefreshAsync(netns, netlink, Destinations(refreshRoutes), runs);
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
        Console.WriteLine($"  cold floor: ip -batch, {destinations.Count} route replaces                          {Median(floor),8:0.0} ms");
        Console.WriteLine($"  cold agent: fresh RouteTable, SetRoutes + ApplyAsync (links, dump, batch) {Median(agent),8:0.0} ms  " +
            $"({ratio:0.00}x floor, target ≤ 1.0x: {Verdict(ratio <= 1.0)})");
    }

    private static async Task<int> RefreshAsync(BenchNamespace netns, RouteNetlink netlink, List<IPNetwork> destinations, int runs)
    {
        var table = NewTable(netlink);
        table.SetRoutes(Interface, destinations);
        if (!await table.ApplyAsync(CancellationToken.None))
        {
            throw new InvalidOperationException("programming the routes for the refresh failed");
        }
        Check(netlink, destinations.Count);
        var (dump, refresh) = (new List<double>(), new List<double>());
        for (var run = 0; run <= runs; run++)
        {
            var watch = Stopwatch.StartNew();
            var listed = netlink.ListRoutes(IpVersion.V4, Protocol).Count;
            var dumped = watch.Elapsed.TotalMilliseconds;
            table.RequestReadBack();
            watch.Restart();
            var applied = await table.ApplyAsync(CancellationToken.None);
            var refreshed = watch.Elapsed.TotalMilliseconds;
            if (!applied || listed != destinations.Count)
            {
                throw new InvalidOperationException($"refresh run {run}: applied {applied}, {listed} routes listed");
            }
            if (run > 0)
            {
                (dump, refresh) = ([.. dump, dumped], [.. refresh, refreshed]);
            }
        }
        await FlushAsync(netns);
        Console.WriteLine($"  refresh floor: netlink dump of {destinations.Count} routes                      {Median(dump),8:0.0} ms");
        Console.WriteLine($"  refresh agent: RequestReadBack + ApplyAsync, nothing to change          {Median(refresh),8:0.0} ms  " +
            $"(target ≤ {RefreshTargetMillis} ms: {Verdict(Median(refresh) <= RefreshTargetMillis)})");
        return 0;
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

    private static RouteTable NewTable(RouteNetlink netlink) =>
        new(IpVersion.V4, netlink, new ProcessCommandRunner(TimeProvider.System), new RouteTableMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry())),
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

    private static string Verdict(bool met) => met ? "OK" : "MISS";

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
