using System.Net;
using System.Net.Sockets;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Fixtures.EndToEnd;
using Xunit.Abstractions;

namespace Felix.IntegrationTests.EndToEnd;

/// <summary>
/// The stage of <see cref="SpoofingTests"/>: one host, every endpoint in a profile that allows all
/// traffic in and out (so only the anti-spoofing rules can stop a packet), and four dual-stack
/// workloads. <c>target</c> listens on UDP and TCP. <c>victim</c> only lends its addresses.
/// Two attackers, because the agent renders the address check two ways: <c>attacker</c> has one
/// address per family (one negated match); <c>twonets</c> has a second one per family in its
/// endpoint and on its <c>eth0</c> (the accept mark set per address, then checked). Both attackers
/// carry, besides their own, the addresses they will spoof: the victim's, a pool address nobody
/// holds, and one outside every pool — all added to their <c>eth0</c> so the kernel lets a socket
/// bind them.
/// </summary>
internal sealed class SpoofSetup : IAsyncDisposable
{
    public const int UdpPort = 9000;
    public const int TcpPort = 9001;

    private const string Profile = "open";
    private const string Rules = """{ "inbound_rules": [ { "action": "allow" } ], "outbound_rules": [ { "action": "allow" } ] }""";

    private static readonly Dictionary<AddressFamily, IPAddress> SecondOwn = new()
    {
        [AddressFamily.InterNetwork] = IPAddress.Parse("192.168.0.100"),
        [AddressFamily.InterNetworkV6] = IPAddress.Parse("fd80:24e2:f998:72d6::64"),
    };

    private static readonly Dictionary<AddressFamily, IPAddress[]> Unowned = new()
    {
        // In the pool, held by no endpoint; outside every pool.
        [AddressFamily.InterNetwork] = [IPAddress.Parse("192.168.0.200"), IPAddress.Parse("10.123.0.1")],
        [AddressFamily.InterNetworkV6] = [IPAddress.Parse("fd80:24e2:f998:72d6::c8"), IPAddress.Parse("fd00:123::1")],
    };

    private SpoofSetup(OneHostDeployment deployment, UdpReceiver received)
    {
        Deployment = deployment;
        Received = received;
    }

    public OneHostDeployment Deployment { get; }

    /// <summary>Every datagram that reached <see cref="Target"/> on <see cref="UdpPort"/>.</summary>
    public UdpReceiver Received { get; }

    public IReadOnlyList<ClusterWorkload> Attackers => [Deployment.Cluster.Workload("attacker"), Deployment.Cluster.Workload("twonets")];

    public ClusterWorkload Victim => Deployment.Cluster.Workload("victim");

    public ClusterWorkload Target => Deployment.Cluster.Workload("target");

    /// <summary>Builds the stage; the test sets the host's <c>rp_filter</c> and starts the agent.</summary>
    public static async Task<SpoofSetup> StartAsync(ITestOutputHelper output)
    {
        var deployment = await OneHostDeployment.CreateAsync(output, new Dictionary<string, string> { [Profile] = Rules },
            ["attacker", "twonets", "victim", "target"]);
        try
        {
            var cluster = deployment.Cluster;
            var twonets = cluster.Workload("twonets");
            foreach (var workload in cluster.Workloads.Where(w => w != twonets))
            {
                await deployment.WriteEndpointAsync(workload, Profile);
            }

            await deployment.WriteEndpointAsync(twonets, Profile, [.. SecondOwn.Values.Select(Cidr)]);
            foreach (var address in SecondOwn.Values)
            {
                await AddAddressAsync(twonets, address);
            }

            var victim = cluster.Workload("victim");
            foreach (var attacker in new[] { cluster.Workload("attacker"), twonets })
            {
                foreach (var address in OneHostDeployment.Families.SelectMany(family => SpoofedAddresses(victim, family)))
                {
                    await AddAddressAsync(attacker, address);
                }
            }

            var target = cluster.Workload("target");
            cluster.Listen(target, [TcpPort]);
            return new SpoofSetup(deployment, UdpReceiver.Start(target.Namespace, [UdpPort]));
        }
        catch
        {
            await deployment.DisposeAsync();
            throw;
        }
    }

    /// <summary>The addresses of <paramref name="family"/> <paramref name="attacker"/>'s endpoint holds.</summary>
    public static IReadOnlyList<IPAddress> OwnAddresses(ClusterWorkload attacker, AddressFamily family) =>
        attacker.Name == "twonets" ? [attacker.AddressOf(family), SecondOwn[family]] : [attacker.AddressOf(family)];

    /// <summary>Another endpoint's address, an unheld pool address, an address outside the pools.</summary>
    public IReadOnlyList<IPAddress> SpoofedAddresses(AddressFamily family) => SpoofedAddresses(Victim, family);

    public async ValueTask DisposeAsync()
    {
        await Received.DisposeAsync();
        await Deployment.DisposeAsync();
    }

    private static IReadOnlyList<IPAddress> SpoofedAddresses(ClusterWorkload victim, AddressFamily family) =>
        [victim.AddressOf(family), .. Unowned[family]];

    private static string Cidr(IPAddress address) =>
        $"{address}/{(address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32)}";

    // IPv6 without duplicate address detection, so a socket can bind the address at once.
    private static Task<CommandResult> AddAddressAsync(ClusterWorkload workload, IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6
            ? workload.Namespace.IpCheckedAsync("-6", "addr", "add", Cidr(address), "dev", Workload.InterfaceName, "nodad")
            : workload.Namespace.IpCheckedAsync("-4", "addr", "add", Cidr(address), "dev", Workload.InterfaceName);
}
