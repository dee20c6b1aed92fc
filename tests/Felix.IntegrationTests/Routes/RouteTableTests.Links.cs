using System.Globalization;
using System.Net;
using Felix.Dataplane;
using Felix.Dataplane.Netlink;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Routes;

// What a refresh asks the kernel about links, against the real one: no link events are fed to the
// tables here, so only the refresh can find what changed, and it must without listing every link.
public sealed partial class RouteTableTests
{
    [Theory]
    [InlineData("-4", "10.65.8.{0}/32")]
    [InlineData("-6", "fd65::8:{0}/128")]
    public async Task A_link_downed_deleted_or_recreated_by_hand_is_found_by_the_refresh_without_listing_every_link(string family, string destinationFormat)
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("linkdrift");
        var (cali1, cali2) = (NetworkNamespaces.NewInterfaceName(), NetworkNamespaces.NewInterfaceName());
        await AddVethAsync(host, cali1, "peer1");
        await AddVethAsync(host, cali2, "peer2");
        using var real = NetworkNamespace.Run(host.Name, RouteNetlink.Open);
        var netlink = new CountingNetlink(real);
        var version = family == "-4" ? IpVersion.V4 : IpVersion.V6;
        var table = New(netlink, version, host);
        IPNetwork Destination(int n) => IPNetwork.Parse(string.Format(CultureInfo.InvariantCulture, destinationFormat, n));
        table.SetRoutes(cali1, [Destination(1), Destination(2)]);
        table.SetRoutes(cali2, [Destination(9)]);
        Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());
        Assert.Equal(3, real.ListRoutes(version, 80).Count);

        // The kernel drops a link's routes when it goes down, in both families: the refresh finds them gone and waits.
        await host.IpCheckedAsync("link", "set", cali1, "down");
        Assert.Equal([cali2], await RefreshAsync());
        Assert.False(table.HasPendingWork);

        await host.IpCheckedAsync("link", "set", cali1, "up");
        Assert.Equal(Sorted(cali1, cali1, cali2), await RefreshAsync());

        // Recreated: another index, which only a lookup of the name tells.
        await host.IpCheckedAsync("link", "del", cali1);
        await AddVethAsync(host, cali1, "peer1");
        Assert.Equal(Sorted(cali1, cali1, cali2), await RefreshAsync());
        var index = real.GetLinks([LinkKey.ByName(cali1)])[0]!.Index;
        Assert.All(real.ListRoutes(version, 80).Where(r => r.Destination != Destination(9)), r => Assert.Equal(index, r.InterfaceIndex));

        Assert.Equal(1, netlink.ListLinksCalls);
        Assert.Contains(LinkKey.ByName(cali1), netlink.LinkLookups);
        Assert.Null(table.FailingSince);

        static List<string> Sorted(params string[] names) => [.. names.Order(StringComparer.Ordinal)];

        async Task<List<string>> RefreshAsync()
        {
            table.RequestReadBack();
            Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());
            var names = real.ListLinks().ToDictionary(l => l.Index, l => l.Name);
            return [.. real.ListRoutes(version, 80).Select(r => names[r.InterfaceIndex]).Order(StringComparer.Ordinal)];
        }
    }

    [Fact]
    public async Task Remote_routes_dropped_with_their_uplink_are_put_back_once_it_is_up_again()
    {
        await using var net = new NetworkNamespaces();
        var host = await net.CreateNamespaceAsync("uplink");
        await AddVethAsync(host, "eth0", "eth0-peer");
        await host.IpCheckedAsync("address", "add", "192.168.1.1/24", "dev", "eth0");
        using var real = NetworkNamespace.Run(host.Name, RouteNetlink.Open);
        using var cancel = new CancellationTokenSource();
        await using var events = real.WatchLinksAsync(cancel.Token).GetAsyncEnumerator(cancel.Token);
        var netlink = new CountingNetlink(real);
        var table = New(netlink, IpVersion.V4, host);
        Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());
        table.SetRemoteRoutes("host2/k8s/pod/eth0", [IPNetwork.Parse("10.70.0.5/32"), IPNetwork.Parse("10.70.0.6/32")], IPAddress.Parse("192.168.1.2"));
        Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());
        Assert.Equal(["10.70.0.5 via 192.168.1.2 dev eth0", "10.70.0.6 via 192.168.1.2 dev eth0"], await RoutesAsync(host, "-4", "proto", "80"));

        await host.IpCheckedAsync("link", "set", "eth0", "down");
        await PumpUntilAsync(events, table, e => e is LinkUpdated { Link: { Name: "eth0", IsUp: false } });
        Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());
        Assert.Empty(await RoutesAsync(host, "-4", "proto", "80"));
        await host.IpCheckedAsync("link", "set", "eth0", "up");
        await PumpUntilAsync(events, table, e => e is LinkUpdated { Link: { Name: "eth0", IsUp: true } });
        Assert.True(await table.ApplyAsync(CancellationToken.None), _log.ToString());

        Assert.Equal(["10.70.0.5 via 192.168.1.2 dev eth0", "10.70.0.6 via 192.168.1.2 dev eth0"], await RoutesAsync(host, "-4", "proto", "80"));
        Assert.DoesNotContain(_log.Lines, l => l.Contains("looking up the links of new remote routes failed", StringComparison.Ordinal));
        await cancel.CancelAsync();
    }
}
