using System.Globalization;
using System.Net;
using System.Text;
using Felix.Dataplane.Routes;
using Felix.Dataplane.Tests.Fakes;
using Felix.Dataplane.Tests.Ipsets;
using Prometheus;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>Configurators over one fake namespace (rtnetlink and <c>/proc/sys/net</c>), with their metrics, log and a clock the test moves.</summary>
internal sealed class InterfaceHarness(bool kernelIpv6 = true)
{
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();

    public static readonly InterfaceConfiguratorOptions Options = new()
    {
        RefreshInterval = TimeSpan.FromSeconds(90),
        InitialRetryDelay = TimeSpan.FromSeconds(1),
        MaxRetryDelay = TimeSpan.FromSeconds(60),
    };

    public FakeRouteNetlink Netlink { get; } = new();

    public FakeSysctls Sysctls { get; } = new(kernelIpv6);

    public ManualClock Clock { get; } = new();

    public ListLogger Log { get; } = new();

    public InterfaceConfigurator New(InterfaceConfiguratorOptions? options = null) =>
        new(Netlink, Sysctls, new InterfaceMetrics(Metrics.WithCustomRegistry(_registry)), Log, options ?? Options, Clock);

    /// <summary>A new veth end, as the kernel makes it: parameters at their defaults, down unless said.</summary>
    public int CreateInterface(string name, bool up = false, bool ipv6 = true)
    {
        Sysctls.AddInterface(name, ipv6);
        return Netlink.AddLink(name, up);
    }

    public void DeleteInterface(string name)
    {
        Sysctls.RemoveInterface(name);
        Netlink.DeleteLink(name);
    }

    /// <summary>Passes on the link events the fake kernel announced since the last call, as the driver does.</summary>
    public void Deliver(InterfaceConfigurator configurator)
    {
        foreach (var linkEvent in Netlink.TakeEvents())
        {
            configurator.OnLinkEvent(linkEvent);
        }
    }

    /// <summary>The permanent neighbour entries on the link now named <paramref name="name"/>: address → link-layer address in hex.</summary>
    public IReadOnlyDictionary<IPAddress, string> NeighboursOf(string name) => Netlink.NeighboursOf(Netlink.IndexOf(name));

    /// <summary>The addresses the link now named <paramref name="name"/> has proxy entries for.</summary>
    public IReadOnlySet<IPAddress> ProxiesOf(string name) => Netlink.ProxiesOf(Netlink.IndexOf(name));

    /// <summary>The value of an unlabelled metric as <c>/metrics</c> shows it.</summary>
    public double Metric(string name)
    {
        using var stream = new MemoryStream();
        _registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        var lines = Encoding.UTF8.GetString(stream.ToArray()).Split('\n');
        // A bare name sums all its labelled series; the family must be registered, so a zero is not vacuous.
        var family = name.Split('{')[0];
        Assert.Contains(lines, l => l.StartsWith($"# TYPE {family} ", StringComparison.Ordinal));
        return lines.Where(l => l.StartsWith(name + " ", StringComparison.Ordinal) || (!name.Contains('{', StringComparison.Ordinal) && l.StartsWith(name + "{", StringComparison.Ordinal)))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
    }
}
