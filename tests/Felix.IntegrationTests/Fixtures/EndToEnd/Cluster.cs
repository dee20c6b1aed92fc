using System.Globalization;
using System.Net;
using System.Net.Sockets;
using dotnet_etcd;

namespace Felix.IntegrationTests.Fixtures.EndToEnd;

/// <summary>
/// The article's two-node setup, as namespaces: a LAN namespace holding a bridge, an etcd
/// namespace on that LAN running a real etcd at <see cref="EtcdAddress"/>, and N host namespaces
/// whose <c>eth0</c> is a port of the bridge (hosts 10.99.0.N/24 and fd99::N/64, default routes to
/// the LAN). Workloads hang off the hosts as Calico's CNI plugin leaves them. Nothing is created in
/// the root namespace: every veth is made with both ends inside namespaces of this cluster, all
/// named with the fixture's per-run prefix, and disposing deletes every one of them (after
/// stopping the agents and listeners started through the cluster).
/// </summary>
public sealed class Cluster : IAsyncDisposable
{
    /// <summary>The LAN's own address (on the bridge): the hosts' default gateway, which routes nothing.</summary>
    public static readonly IPAddress LanGateway = IPAddress.Parse("10.99.0.253");

    public static readonly IPAddress LanGatewayV6 = IPAddress.Parse("fd99::fd");

    /// <summary>Where etcd serves clients: <c>http://10.99.0.254:2379</c>.</summary>
    public static readonly IPAddress EtcdAddress = IPAddress.Parse("10.99.0.254");

    /// <summary>The article's pool: "IPs are handed out in order from 192.168.0.0/16".</summary>
    public static readonly IPNetwork WorkloadPool = IPNetwork.Parse("192.168.0.0/16");

    /// <summary>calicoctl's default IPv6 pool, as the policy goldens use it.</summary>
    public static readonly IPNetwork WorkloadPoolV6 = IPNetwork.Parse("fd80:24e2:f998:72d6::/64");

    /// <summary>The routes <see cref="AddBgpRouteAsync"/> adds carry BIRD's protocol number, as in the article's <c>proto bird</c>.</summary>
    public const int BgpRouteProtocol = 12;

    private const int MaxHosts = 200;
    private const string Bridge = "br0";

    private readonly List<ClusterHost> _hosts = [];
    private readonly List<ClusterWorkload> _workloads = [];
    private readonly HashSet<string> _workloadNames = new(StringComparer.Ordinal);
    private readonly List<AgentProcess> _agents = [];
    private readonly List<Listener> _listeners = [];
    private readonly Lock _gate = new();
    private EtcdServer? _etcd;
    private bool _disposed;

    private Cluster(NetworkNamespaces namespaces, NetNs lan)
    {
        Namespaces = namespaces;
        Lan = lan;
    }

    /// <summary>The namespace fixture; its prefix names every namespace of this cluster.</summary>
    public NetworkNamespaces Namespaces { get; }

    /// <summary>The namespace holding the LAN bridge (<c>br0</c>) and its gateway address.</summary>
    public NetNs Lan { get; }

    /// <summary>The namespace etcd runs in; null when the cluster was started without etcd.</summary>
    public NetNs? EtcdNamespace { get; private set; }

    /// <summary>The cluster's etcd; <see cref="EtcdServer.ClientUrl"/> is the LAN URL the agents use.</summary>
    public EtcdServer Etcd => _etcd ?? throw new InvalidOperationException("this cluster was started without etcd");

    public IReadOnlyList<ClusterHost> Hosts => _hosts;

    public IReadOnlyList<ClusterWorkload> Workloads
    {
        get
        {
            lock (_gate)
            {
                return [.. _workloads];
            }
        }
    }

    /// <summary>
    /// Builds the LAN, etcd (unless <paramref name="withEtcd"/> is false) and hosts <c>host1</c> …
    /// <c>host<paramref name="hostCount"/></c>, in parallel where they do not depend on each other.
    /// On failure everything made so far is deleted before the exception propagates.
    /// </summary>
    public static async Task<Cluster> StartAsync(int hostCount, bool withEtcd = true, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hostCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hostCount, MaxHosts);
        var namespaces = new NetworkNamespaces();
        Cluster? cluster = null;
        try
        {
            var lan = await namespaces.CreateNamespaceAsync("lan");
            await lan.IpCheckedAsync("link", "add", Bridge, "type", "bridge", "mcast_snooping", "0");
            await AddLanAddressesAsync(lan, Bridge, LanGateway, LanGatewayV6);
            await lan.IpCheckedAsync("link", "set", Bridge, "up");
            cluster = new Cluster(namespaces, lan);

            var etcd = withEtcd ? cluster.StartEtcdAsync(cancellationToken) : Task.CompletedTask;
            var hosts = Task.WhenAll(Enumerable.Range(1, hostCount).Select(cluster.CreateHostAsync));
            // Both finish before anything is torn down, so a failure of one cannot leave the other
            // starting etcd or creating namespaces behind the cleanup's back.
            await Task.WhenAll(etcd, hosts);
            cluster._hosts.AddRange(await hosts);
            return cluster;
        }
        catch
        {
            if (cluster is not null)
            {
                await cluster.DisposeAsync();
            }
            else
            {
                await namespaces.DisposeAsync();
            }

            throw;
        }
    }

    public ClusterHost Host(string name) =>
        _hosts.SingleOrDefault(h => h.Name == name) ?? throw new KeyNotFoundException($"no host named {name}");

    public ClusterWorkload Workload(string name) =>
        Workloads.SingleOrDefault(w => w.Name == name) ?? throw new KeyNotFoundException($"no workload named {name}");

    /// <summary>
    /// Adds a container named <paramref name="name"/> (unique, an id) on <paramref name="host"/> with
    /// the next address of <see cref="WorkloadPool"/> (192.168.0.1, .2, … in creation order, as in the
    /// article) and, when <paramref name="ipv6"/>, the address with the same number in
    /// <see cref="WorkloadPoolV6"/>.
    /// </summary>
    public async Task<ClusterWorkload> AddWorkloadAsync(ClusterHost host, string name, bool ipv6 = true)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentException.ThrowIfNullOrEmpty(name);
        int number;
        lock (_gate)
        {
            // Reserved before the namespaces exist, so concurrent calls get distinct names and addresses.
            if (!_workloadNames.Add(name))
            {
                throw new ArgumentException($"a workload named {name} already exists", nameof(name));
            }

            number = _workloadNames.Count;
        }

        var workload = await Namespaces.CreateWorkloadAsync(host.Namespace, PoolAddress(WorkloadPool, number));
        var ipv6Address = ipv6 ? PoolAddress(WorkloadPoolV6, number) : null;
        if (ipv6Address is not null)
        {
            await Namespaces.AddWorkloadAddressAsync(workload, ipv6Address);
        }

        var added = new ClusterWorkload(name, host, workload, ipv6Address);
        lock (_gate)
        {
            _workloads.Add(added);
        }

        return added;
    }

    /// <summary>
    /// What BGP would teach <paramref name="on"/> about <paramref name="to"/> on another host:
    /// <c>&lt;workload&gt;/32 via &lt;its host&gt; dev eth0 proto bird</c>, and the /128 via the host's
    /// IPv6 address when the workload has one. Routes of this protocol are never the agent's.
    /// </summary>
    public async Task AddBgpRouteAsync(ClusterHost on, ClusterWorkload to)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(on);
        ArgumentNullException.ThrowIfNull(to);
        if (to.Host == on)
        {
            throw new ArgumentException($"{to.Name} is local to {on.Name}: its route is the agent's to make", nameof(to));
        }

        foreach (var family in Families(to))
        {
            await on.Namespace.IpCheckedAsync(FamilyFlag(family), "route", "add", Cidr(to.AddressOf(family)),
                "via", to.Host.AddressOf(family).ToString(), "dev", ClusterHost.Uplink,
                "proto", BgpRouteProtocol.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Removes what <see cref="AddBgpRouteAsync"/> added (a withdrawn BGP route).</summary>
    public async Task RemoveBgpRouteAsync(ClusterHost on, ClusterWorkload to)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(on);
        ArgumentNullException.ThrowIfNull(to);
        foreach (var family in Families(to))
        {
            await on.Namespace.IpCheckedAsync(FamilyFlag(family), "route", "del", Cidr(to.AddressOf(family)),
                "proto", BgpRouteProtocol.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>The full mesh: every host learns a route to every workload of every other host.</summary>
    public async Task AddBgpRoutesAsync()
    {
        var workloads = Workloads;
        await Task.WhenAll(_hosts.Select(async host =>
        {
            foreach (var workload in workloads.Where(w => w.Host != host))
            {
                await AddBgpRouteAsync(host, workload);
            }
        }));
    }

    /// <summary>
    /// What the agent does for a local endpoint, minus iptables, done by hand: forwarding on, proxy
    /// ARP and NDP for the workload's gateways on its <c>cali…</c> interface, and a host route
    /// through that interface per address. For tests of the topology and for baselines without an
    /// agent; never alongside one, which would find these routes of another protocol in its way.
    /// </summary>
    public async Task RouteByHandAsync(ClusterWorkload workload)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(workload);
        var (host, cali) = (workload.Host.Namespace, workload.HostInterface);
        await workload.Host.EnableForwardingAsync();
        await host.ExecCheckedAsync("sysctl", "-q", "-w", $"net.ipv4.conf.{cali}.proxy_arp=1", $"net.ipv4.neigh.{cali}.proxy_delay=0",
            $"net.ipv6.conf.{cali}.proxy_ndp=1", $"net.ipv6.neigh.{cali}.proxy_delay=0");
        await host.IpCheckedAsync("-4", "route", "add", workload.Workload.Cidr, "dev", cali);
        if (workload.Ipv6Address is { } ipv6)
        {
            await host.IpCheckedAsync("-6", "route", "add", $"{ipv6}/128", "dev", cali);
            await host.IpCheckedAsync("-6", "neigh", "add", "proxy", NetworkNamespaces.Ipv6Gateway.ToString(), "dev", cali);
        }
    }

    /// <summary>The agent settings that make it <paramref name="host"/> talking to this cluster's etcd; tests add their own.</summary>
    public IReadOnlyDictionary<string, string> AgentEnvironment(ClusterHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return new Dictionary<string, string>
        {
            ["FELIX_FELIXHOSTNAME"] = host.Name,
            ["FELIX_ETCDENDPOINTS"] = Etcd.ClientUrl,
        };
    }

    /// <summary>
    /// Starts the agent binary inside <paramref name="host"/> with <see cref="AgentEnvironment"/>
    /// plus <paramref name="environment"/>, through <paramref name="launcher"/> if given (see
    /// <see cref="AgentProcess.StartAsync"/>). The cluster kills it on dispose if the test has not.
    /// </summary>
    public async Task<AgentProcess> StartAgentAsync(ClusterHost host, IReadOnlyDictionary<string, string>? environment = null,
        IReadOnlyList<string>? arguments = null, IReadOnlyList<string>? launcher = null)
    {
        var settings = new Dictionary<string, string>(AgentEnvironment(host));
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            settings[name] = value;
        }

        var agent = await AgentProcess.StartAsync(settings, arguments, host.Namespace, launcher);
        lock (_gate)
        {
            _agents.Add(agent);
        }

        return agent;
    }

    /// <summary>A <see cref="Listener"/> on <paramref name="ports"/> (the article's by default) in the workload, closed on dispose.</summary>
    public Listener Listen(ClusterWorkload workload, IEnumerable<int>? ports = null)
    {
        ArgumentNullException.ThrowIfNull(workload);
        var listener = Listener.Start(workload.Namespace, ports ?? Listener.ArticlePorts);
        lock (_gate)
        {
            _listeners.Add(listener);
        }

        return listener;
    }

    /// <summary>A client of the cluster's etcd for the test process (its connections made inside the etcd namespace).</summary>
    public EtcdClient CreateEtcdClient() => Etcd.CreateClient();

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        var failures = new List<Exception>();
        async Task Attempt(Func<ValueTask> step)
        {
            try
            {
                await step();
            }
            catch (Exception e)
            {
                failures.Add(e);
            }
        }

        // Processes and sockets first: a namespace that something still holds outlives its name.
        foreach (var agent in _agents)
        {
            await Attempt(agent.DisposeAsync);
        }

        foreach (var listener in _listeners)
        {
            await Attempt(listener.DisposeAsync);
        }

        if (_etcd is not null)
        {
            await Attempt(_etcd.DisposeAsync);
        }

        await Attempt(Namespaces.DisposeAsync);
        if (failures.Count > 0)
        {
            throw new AggregateException("tearing down the cluster failed", failures);
        }
    }

    private async Task StartEtcdAsync(CancellationToken cancellationToken)
    {
        var etcdNamespace = await Namespaces.CreateNamespaceAsync("etcd");
        EtcdNamespace = etcdNamespace;
        await AttachToLanAsync(etcdNamespace, "etcd", EtcdAddress, IPAddress.Parse("fd99::fe"));
        _etcd = await EtcdServer.StartInNamespaceAsync(new EtcdPlacement(etcdNamespace, EtcdAddress), cancellationToken);
    }

    private async Task<ClusterHost> CreateHostAsync(int number)
    {
        var name = "host" + number.ToString(CultureInfo.InvariantCulture);
        var netns = await Namespaces.CreateNamespaceAsync(name);
        // A host sends neighbour solicitations for the packets it forwards from the link-local
        // address of the outgoing interface, and sends none while that address is still tentative
        // (duplicate address detection, a second or two after the interface appears): IPv6 to a
        // brand-new workload would stall for that long, making probes flaky. Nothing here can clash.
        await netns.ExecCheckedAsync("sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0");
        var address = IPAddress.Parse($"10.99.0.{number}");
        var ipv6 = IPAddress.Parse($"fd99::{number:x}");
        await AttachToLanAsync(netns, name, address, ipv6);
        await netns.IpCheckedAsync("-4", "route", "add", "default", "via", LanGateway.ToString(), "dev", ClusterHost.Uplink);
        await netns.IpCheckedAsync("-6", "route", "add", "default", "via", LanGatewayV6.ToString(), "dev", ClusterHost.Uplink);
        return new ClusterHost(name, number, netns, address, ipv6);
    }

    // eth0 in the namespace, its peer (named after it) a port of the bridge in the LAN namespace.
    private async Task AttachToLanAsync(NetNs netns, string portName, IPAddress address, IPAddress ipv6)
    {
        await netns.IpCheckedAsync("link", "add", ClusterHost.Uplink, "type", "veth", "peer", "name", portName, "netns", Lan.Name);
        await Lan.IpCheckedAsync("link", "set", portName, "master", Bridge, "up");
        await netns.IpCheckedAsync("link", "set", ClusterHost.Uplink, "up");
        await AddLanAddressesAsync(netns, ClusterHost.Uplink, address, ipv6);
    }

    // IPv6 skips duplicate address detection so the address is usable at once.
    private static async Task AddLanAddressesAsync(NetNs netns, string device, IPAddress address, IPAddress ipv6)
    {
        await netns.IpCheckedAsync("-4", "addr", "add", $"{address}/24", "dev", device);
        await netns.IpCheckedAsync("-6", "addr", "add", $"{ipv6}/64", "dev", device, "nodad");
    }

    private static IPAddress PoolAddress(IPNetwork pool, int number)
    {
        var bytes = pool.BaseAddress.GetAddressBytes();
        var carry = number;
        for (var i = bytes.Length - 1; i >= 0 && carry > 0; i--)
        {
            var sum = bytes[i] + (carry & 0xff);
            bytes[i] = (byte)sum;
            carry = (carry >> 8) + (sum >> 8);
        }

        var address = new IPAddress(bytes);
        return pool.Contains(address) ? address : throw new InvalidOperationException($"pool {pool} has no address number {number}");
    }

    private static IEnumerable<AddressFamily> Families(ClusterWorkload workload) =>
        workload.Ipv6Address is null ? [AddressFamily.InterNetwork] : [AddressFamily.InterNetwork, AddressFamily.InterNetworkV6];

    private static string FamilyFlag(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? "-6" : "-4";

    private static string Cidr(IPAddress address) =>
        $"{address}/{(address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32)}";
}
