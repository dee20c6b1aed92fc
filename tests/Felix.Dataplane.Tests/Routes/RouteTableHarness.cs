using System.Globalization;
using System.Net;
using System.Text;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;
using Felix.Dataplane.Tests.Fakes;
using Felix.Dataplane.Tests.Ipsets;
using Prometheus;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>Route tables over one fake kernel and one fake conntrack, with their metrics, log, a clock the test moves and a timeline of both.</summary>
internal sealed class RouteTableHarness
{
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();

    public static readonly RouteTableOptions Options = new()
    {
        InitialBackoff = TimeSpan.Zero,
        MaxBackoff = TimeSpan.Zero,
        RefreshInterval = TimeSpan.FromSeconds(90),
        MaxAttempts = 3,
    };

    public RouteTableHarness()
    {
        Netlink.AfterExecute = (requests, results) =>
            Timeline.AddRange(requests.Select((r, i) => results[i] is { } error ? $"{Show(r)} -> {error.Name}" : Show(r)));
        Conntrack.OnFlush = (family, addresses) => Timeline.Add($"conntrack IPv{(int)family} {string.Join(' ', addresses)}");
    }

    public FakeRouteNetlink Netlink { get; } = new();

    public FakeConntrack Conntrack { get; } = new();

    public ManualClock Clock { get; } = new();

    public ListLogger Log { get; } = new();

    /// <summary>Every request executed (with its error, if refused) and every conntrack flush, in order.</summary>
    public List<string> Timeline { get; } = [];

    public RouteTable NewTable(IpVersion version = IpVersion.V4, RouteTableOptions? options = null) =>
        new(version, Netlink, Conntrack, new RouteTableMetrics(Metrics.WithCustomRegistry(_registry)), Log, options ?? Options, Clock);

    /// <summary>Feeds the link events the fake announced since the last call into the tables, as the driver's pump would.</summary>
    public void Pump(params RouteTable[] tables)
    {
        foreach (var linkEvent in Netlink.TakeEvents())
        {
            foreach (var table in tables)
            {
                table.OnLinkEvent(linkEvent);
            }
        }
    }

    /// <summary>Applies and asserts success.</summary>
    public static async Task ApplyAsync(RouteTable table) => Assert.True(await table.ApplyAsync(CancellationToken.None));

    /// <summary>The timeline entries added by <paramref name="action"/>.</summary>
    public async Task<List<string>> Recording(Func<Task> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var start = Timeline.Count;
        await action();
        return Timeline[start..];
    }

    /// <summary>The fake's route to the destination, shown as the requests show it; null when it has none.</summary>
    public string? RouteTo(string destination) => Netlink.Route(IPNetwork.Parse(destination)) is { } route ? Show(route) : null;

    /// <summary>Our-protocol routes of the family, shown, in destination order.</summary>
    public List<string> OurRoutes(IpVersion version = IpVersion.V4) =>
        [.. Netlink.RoutesOf(version, Options.DeviceRouteProtocol).Select(Show)];

    public static string Show(NetlinkRequest request) => request switch
    {
        AddRoute add => $"add {Show(add.Route)}",
        ReplaceRoute replace => $"replace {Show(replace.Route)}",
        DeleteRoute delete => $"delete {Show(delete.Route)}",
        _ => request.ToString(),
    };

    public static string Show(RouteSpec route)
    {
        var text = new StringBuilder(route.Destination.ToString());
        if (route.Gateway is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $" via {route.Gateway}");
        }
        if (route.InterfaceIndex != 0)
        {
            text.Append(CultureInfo.InvariantCulture, $" dev {route.InterfaceIndex}");
        }
        if (route.Scope == RouteScope.Link)
        {
            text.Append(" scope link");
        }
        return text.Append(CultureInfo.InvariantCulture, $" proto {route.Protocol}").ToString();
    }

    public static IPNetwork[] Nets(params string[] networks) => [.. networks.Select(n => IPNetwork.Parse(n.Contains('/') ? n : n + (n.Contains(':') ? "/128" : "/32")))];

    /// <summary>A metric's value as <c>/metrics</c> shows it, by its full series name (e.g. <c>felix_netlink_errors{errno="EPERM"}</c>); 0 when absent.</summary>
    public double Metric(string series)
    {
        using var stream = new MemoryStream();
        _registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        var line = Encoding.UTF8.GetString(stream.ToArray()).Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }
}
