using System.Collections.Concurrent;
using System.Threading.Channels;
using Felix.Agent.Calculation;
using Felix.Agent.Dataplane;
using Felix.Agent.Datastore;
using Felix.Agent.Hosting.Health;
using Felix.Agent.Policy;
using Felix.Dataplane.Ipsets;
using Felix.Dataplane.Iptables;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;
using Felix.Dataplane.Tests.Fakes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using NSubstitute;
using Prometheus;

namespace Felix.Agent.Tests.Dataplane;

/// <summary>How a <see cref="DriverHarness"/> host is set up.</summary>
internal sealed record HarnessOptions
{
    public bool Ipv6Support { get; init; } = true;

    public bool RemoteWorkloadRoutes { get; init; }

    public DriverOptions Driver { get; init; } = new();

    /// <summary>The iptables tables' periodic read-back; zero (none) unless a test is about it.</summary>
    public TimeSpan IptablesRefreshInterval { get; init; }
}

/// <summary>
/// A <see cref="DataplaneDriver"/> over a whole fake host, built as <see cref="DataplaneFactory"/>
/// builds the real one — the same kernel objects and managers — but with the semantic fakes of
/// ipset, iptables, conntrack, rtnetlink and sysctls, and a fake clock.
/// <para>
/// The kernel objects get one attempt per apply and no periodic or post-write read-backs: their own
/// retries and refreshes are theirs to test, and here they would make the driver's applies depend
/// on more than the driver. So an apply fails as soon as a fake refuses once, and after a success
/// there is no work until the test makes some.
/// </para>
/// <para>
/// A test acts, then <see cref="SettleAsync"/>s: waits until the loop has taken every input and is
/// asleep on the clock, so whatever the action caused has happened and nothing more will until the
/// next action.
/// </para>
/// </summary>
internal sealed class DriverHarness : IAsyncDisposable
{
    public const string Hostname = "node1";

    /// <summary>How long a test waits for the loop to reach a state before it gives up (a hang, not a timing check).</summary>
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    // Not SingleReader as in the agent: that channel cannot count what it holds, which SettleAsync needs.
    private readonly Channel<DriverInput> _inputs = Channel.CreateUnbounded<DriverInput>();
    private readonly WatchedNetlink _netlink;
    private readonly ConcurrentQueue<string> _notifications = new();
    private bool _started;

    public DriverHarness(HarnessOptions? options = null)
    {
        Options = options ?? new HarnessOptions();
        Sysctls = new FakeSysctls(ipv6: true);
        _netlink = new WatchedNetlink(Netlink);
        Systemd.When(s => s.Notify(Arg.Any<ServiceState>())).Do(call => _notifications.Enqueue(call.Arg<ServiceState>().ToString()));
        var metrics = Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry());
        Metrics = new DataplaneMetrics(metrics);
        Setup = BuildSetup(metrics);
        Health = new HealthAggregator(Clock);
        Driver = new DataplaneDriver(_ => Task.FromResult(Setup), _inputs, Options.Driver, Health.Register("dataplane", reportsReadiness: true),
            Systemd, Metrics, StatusReporter, Lifetime, Log, Clock);
    }

    public HarnessOptions Options { get; }

    public LoopClock Clock { get; } = new();

    public HostCommands Commands { get; } = new();

    /// <summary>The host's conntrack table, flushed over netlink.</summary>
    public FakeConntrack Conntrack { get; } = new();

    public FakeRouteNetlink Netlink { get; } = new();

    public FakeSysctls Sysctls { get; }

    public ISystemdNotifier Systemd { get; } = Substitute.For<ISystemdNotifier>();

    public IHostApplicationLifetime Lifetime { get; } = Substitute.For<IHostApplicationLifetime>();

    public IEndpointStatusReporter StatusReporter { get; } = Substitute.For<IEndpointStatusReporter>();

    public TestLog Log { get; } = new();

    public DataplaneMetrics Metrics { get; }

    public HealthAggregator Health { get; }

    public DataplaneSetup Setup { get; }

    public DataplaneDriver Driver { get; }

    public int Applies => Driver.Applies;

    /// <summary>Everything sent to systemd, in order (<c>READY=1</c>, <c>STATUS=…</c>, <c>WATCHDOG=1</c>, <c>STOPPING=1</c>).</summary>
    public IReadOnlyList<string> Notifications => [.. _notifications];

    public IReadOnlyList<string> StatusLines => [.. Notifications.Where(n => n.StartsWith("STATUS=", StringComparison.Ordinal)).Select(n => n["STATUS=".Length..])];

    public int Count(string notification) => Notifications.Count(n => n == notification);

    public async Task StartAsync()
    {
        _started = true;
        await Driver.StartAsync(CancellationToken.None);
        await _netlink.Watching.WaitAsync(WaitLimit);
        await SettleAsync();
    }

    /// <summary>Queues one batch of the calculation for the loop (without waiting for it).</summary>
    public void Send(params DataplaneUpdate[] updates) => Send((IReadOnlyList<DataplaneUpdate>)updates);

    public void Send(IReadOnlyList<DataplaneUpdate> updates) =>
        Assert.True(_inputs.Writer.TryWrite(new CalculatedBatch(updates)), "the driver's input channel is closed");

    /// <summary>Queues a link event as the driver's own link watch would.</summary>
    public void SendLink(LinkEvent linkEvent) =>
        Assert.True(_inputs.Writer.TryWrite(new LinkChanged(linkEvent)), "the driver's input channel is closed");

    public async Task SendAsync(params DataplaneUpdate[] updates)
    {
        Send(updates);
        await SettleAsync();
    }

    public async Task SendAsync(IReadOnlyList<DataplaneUpdate> updates)
    {
        Send(updates);
        await SettleAsync();
    }

    /// <summary>Moves the clock on and lets the loop do whatever that made due.</summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        Clock.Advance(by);
        await SettleAsync();
    }

    /// <summary>Creates a workload interface as a CNI plugin would (its sysctls, then the link) and waits for the driver to take the event.</summary>
    public async Task AddLinkAsync(string name, bool up = true)
    {
        var before = LinkEventsTaken;
        Sysctls.AddInterface(name);
        Netlink.AddLink(name, up);
        await WaitUntilAsync(() => LinkEventsTaken > before, $"the driver to take the link event of {name}");
        await SettleAsync();
    }

    /// <summary>Deletes a link (its workload gone) and waits for the driver to take the event.</summary>
    public async Task DeleteLinkAsync(string name)
    {
        var before = LinkEventsTaken;
        Netlink.DeleteLink(name);
        Sysctls.RemoveInterface(name);
        await WaitUntilAsync(() => LinkEventsTaken > before, $"the driver to take the link event of {name}");
        await SettleAsync();
    }

    /// <summary>A link that exists before the agent starts: no event, the first apply lists it.</summary>
    public void AddLinkBeforeStart(string name)
    {
        Assert.False(_started, "the link must exist before the driver starts");
        Sysctls.AddInterface(name);
        Netlink.AddLink(name);
    }

    public double LinkEventsTaken => Metrics.Messages.WithLabels("LinkEvent").Value;

    /// <summary>Whether the loop has taken every input and sleeps on the clock.</summary>
    /// <remarks>
    /// The queue is read before the sleep, and the order matters: the loop ends a sleep before it
    /// drains the queue, so once the queue is seen empty any sleep seen after is a new one. Read the
    /// other way round, the loop could end the old sleep and drain between the two reads, and an
    /// input not yet applied would pass for settled.
    /// </remarks>
    public bool IsAsleep => _inputs.Reader.Count == 0 && Clock.WakesAt is not null;

    /// <summary>Waits until the loop has taken every input and sleeps on the clock.</summary>
    public Task SettleAsync() => WaitUntilAsync(() => IsAsleep, "the driver's loop to take its input and sleep");

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"gave up waiting for {what}");
            }
            await Task.Delay(1);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_started)
        {
            await Driver.StopAsync(CancellationToken.None);
        }
        Driver.Dispose();
    }

    private DataplaneSetup BuildSetup(IMetricFactory metrics)
    {
        const int maxIpsetSize = 1048576;
        var ipv6 = Options.Ipv6Support;
        IpVersion[] versions = ipv6 ? [IpVersion.V4, IpVersion.V6] : [IpVersion.V4];
        var policy = new PolicyConfig("cali", 0xff000000);
        var ipSets = new IpSets(Commands, new IpsetMetrics(metrics), Log, new IpSetsOptions { MaxAttempts = 1, RefreshInterval = TimeSpan.Zero }, Clock);
        var iptablesMetrics = new IptablesMetrics(metrics);
        var tables = new List<IptablesTable>();
        var managers = new List<IDataplaneManager>
        {
            new IpSetManager(ipSets, maxIpsetSize, ipv6),
            new PoolSetManager(ipSets, maxIpsetSize, ipv6),
        };
        foreach (var version in versions)
        {
            var commands = new IptablesCommands(version, IptablesBackendKind.Nft, 10);
            IptablesTable Table(TableName name) => new(name, commands, Commands, iptablesMetrics, Log,
                new IptablesTableOptions { MaxAttempts = 1, RefreshInterval = Options.IptablesRefreshInterval, PostWriteReadBack = TimeSpan.Zero }, Clock);
            var (filter, nat) = (Table(TableName.Filter), Table(TableName.Nat));
            tables.AddRange([filter, nat]);
            managers.Add(new PolicyManager(new PolicyRenderer(version, policy), filter, nat));
        }
        var routeMetrics = new RouteTableMetrics(metrics);
        var routeTables = versions.Select(version => new RouteTable(version, _netlink, Conntrack, routeMetrics, Log,
            new RouteTableOptions { MaxAttempts = 1, RefreshInterval = TimeSpan.Zero }, Clock)).ToList();
        var interfaces = new InterfaceConfigurator(_netlink, Sysctls, new InterfaceMetrics(metrics), Log,
            new InterfaceConfiguratorOptions { Ipv6Support = ipv6, RouteLocalnet = true, RefreshInterval = TimeSpan.Zero }, Clock);
        var endpoints = new EndpointManager(routeTables[0], routeTables.ElementAtOrDefault(1), interfaces, Log);
        managers.Add(endpoints);
        if (Options.RemoteWorkloadRoutes)
        {
            managers.Add(new RemoteRouteManager(routeTables[0]));
        }
        return new DataplaneSetup(new DataplaneApplier(ipSets, tables, routeTables, interfaces, Clock), managers, endpoints,
            (IpSetManager)managers[0], _netlink, Conntrack);
    }
}
