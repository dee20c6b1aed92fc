using System.Net;
using Felix.Dataplane;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Routes;

// Drift repaired by the periodic read-back: no link event or update tells the table that someone
// changed one of its routes, so only the refresh can find it.
public sealed partial class RouteTableTests
{
    [Theory]
    [InlineData("-4", "10.65.7.{0}/32")]
    [InlineData("-6", "fd65::7:{0}/128")]
    public async Task A_route_deleted_or_moved_by_hand_is_put_back_by_the_next_refresh_and_only_it(string family, string destinationFormat)
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("repair");
        var (cali1, cali2) = (NetworkNamespaces.NewInterfaceName(), NetworkNamespaces.NewInterfaceName());
        await AddVethAsync(host, cali1, "peer1");
        await AddVethAsync(host, cali2, "peer2");
        using var real = NetworkNamespace.Run(host.Name, RouteNetlink.Open);
        var netlink = new CountingNetlink(real);
        var version = family == "-4" ? IpVersion.V4 : IpVersion.V6;
        var table = New(netlink, version, host, Quick with { RefreshInterval = TimeSpan.FromMilliseconds(300) });
        IPNetwork Destination(int n) => IPNetwork.Parse(string.Format(System.Globalization.CultureInfo.InvariantCulture, destinationFormat, n));
        table.SetRoutes(cali1, [Destination(1), Destination(2), Destination(3)]);
        table.SetRoutes(cali2, [Destination(9)]);
        Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());
        var programmed = real.ListRoutes(version, 80).ToDictionary(r => r.Destination);
        Assert.Equal(4, programmed.Count);

        netlink.Requests.Clear();
        await host.IpCheckedAsync(family, "route", "del", Destination(2).ToString(), "dev", cali1, "proto", "80");
        Assert.DoesNotContain(Destination(2), real.ListRoutes(version, 80).Select(r => r.Destination));

        Assert.True(await ApplyUntilAsync(table, () => SameRoutes(real.ListRoutes(version, 80), programmed.Values)), _log.ToString());
        Assert.Equal([new AddRoute(programmed[Destination(2)])], netlink.Requests);
        Assert.Contains(_log.Lines, l => l.Contains($"changed by someone else ({Destination(2)})", StringComparison.Ordinal));

        netlink.Requests.Clear();
        await host.IpCheckedAsync(family, "route", "replace", Destination(3).ToString(), "dev", cali2, "proto", "80");
        var cali2Index = real.ListLinks().Single(l => l.Name == cali2).Index;
        Assert.Equal(cali2Index, real.ListRoutes(version, 80).Single(r => r.Destination == Destination(3)).InterfaceIndex);

        Assert.True(await ApplyUntilAsync(table, () => SameRoutes(real.ListRoutes(version, 80), programmed.Values)), _log.ToString());
        Assert.Equal([new ReplaceRoute(programmed[Destination(3)])], netlink.Requests);
    }

    /// <summary>
    /// Applies every 100 ms, as the agent's loop would keep doing, until <paramref name="done"/>:
    /// at most 100 times, so about 10 s, far beyond the 300 ms refresh interval.
    /// </summary>
    private async Task<bool> ApplyUntilAsync(RouteTable table, Func<bool> done)
    {
        for (var i = 0; i < 100; i++)
        {
            Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());
            if (done())
            {
                return true;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
        return false;
    }

    private static bool SameRoutes(IEnumerable<RouteSpec> routes, IEnumerable<RouteSpec> expected) => routes.ToHashSet().SetEquals(expected);
}
