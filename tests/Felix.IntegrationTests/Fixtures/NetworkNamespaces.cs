using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// The network fixture: creates the namespaces an integration test plays "hosts" and "workloads"
/// in, all named with a random per-instance prefix, and deletes every one of them on dispose (also
/// after a failed test). It never creates an interface in, or changes routes, iptables or ipsets of,
/// the root namespace: links are made with <c>ip -n</c> directly inside the namespaces.
/// </summary>
public sealed partial class NetworkNamespaces : IAsyncDisposable, IDisposable
{
    /// <summary>Every namespace any instance creates starts with this.</summary>
    public const string FixturePrefix = "fxt";

    /// <summary>The workload's IPv4 next hop, answered by proxy ARP on the host side (as in Calico).</summary>
    public static readonly IPAddress Ipv4Gateway = IPAddress.Parse("169.254.1.1");

    /// <summary>The workload's IPv6 next hop, answered by proxy NDP on the host side.</summary>
    public static readonly IPAddress Ipv6Gateway = IPAddress.Parse("fe80::1");

    private const string UplinkInterface = "eth0";
    private const string UplinkPeerInterface = "eth0-peer";

    private readonly string _ipPath;
    private readonly List<string> _created = [];
    private readonly Lock _gate = new();
    private int _workloads;
    private bool _disposed;

    public NetworkNamespaces()
    {
        Require.Root();
        _ipPath = Require.Executable("ip", "iproute2");
        Prefix = FixturePrefix + RandomNumberGenerator.GetHexString(6, lowercase: true) + "-";
    }

    /// <summary>This instance's prefix, e.g. <c>fxt3fa9c1-</c>.</summary>
    public string Prefix { get; }

    /// <summary>Names of the namespaces this instance created and has not yet deleted.</summary>
    public IReadOnlyList<string> Created
    {
        get
        {
            lock (_gate)
            {
                return [.. _created];
            }
        }
    }

    /// <summary>A random Calico-style host interface name: <c>cali</c> + 11 lowercase hex chars.</summary>
    public static string NewInterfaceName() => "cali" + RandomNumberGenerator.GetHexString(11, lowercase: true);

    /// <summary>Every network namespace on the machine, as <c>ip netns list</c> names them.</summary>
    public static async Task<IReadOnlyList<string>> ListNamespacesAsync()
    {
        var ip = Require.Executable("ip", "iproute2");
        var result = await CommandRunner.RunCheckedAsync(ip, ["netns", "list"]);
        return result.StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ', 2)[0])
            .ToList();
    }

    /// <summary>Namespaces on the machine with this instance's prefix (empty after dispose).</summary>
    public async Task<IReadOnlyList<string>> ListLeftoverNamespacesAsync() =>
        (await ListNamespacesAsync()).Where(name => name.StartsWith(Prefix, StringComparison.Ordinal)).ToList();

    /// <summary>Creates <c>Prefix + shortName</c> with its loopback up.</summary>
    /// <param name="shortName">Lowercase letters, digits and '-', at most 16 chars, unique per instance.</param>
    public async Task<NetNs> CreateNamespaceAsync(string shortName)
    {
        if (!ShortNamePattern().IsMatch(shortName))
        {
            throw new ArgumentException($"'{shortName}' is not a short namespace name ([a-z0-9][a-z0-9-]{{0,15}}).", nameof(shortName));
        }

        return await CreateAsync(Prefix + shortName);
    }

    /// <summary>
    /// Deletes one namespace this instance created, before the instance is disposed: for tests that
    /// go through many short-lived namespaces and should not hold them all until the end.
    /// </summary>
    public async Task DeleteNamespaceAsync(NetNs netns)
    {
        ArgumentNullException.ThrowIfNull(netns);
        lock (_gate)
        {
            if (!_created.Contains(netns.Name))
            {
                throw new ArgumentException($"Namespace {netns.Name} was not created by this fixture (or is already deleted).", nameof(netns));
            }
        }

        await CommandRunner.RunCheckedAsync(_ipPath, ["netns", "del", netns.Name]);
        lock (_gate)
        {
            _created.Remove(netns.Name);
        }
    }

    /// <summary>
    /// Creates a namespace that looks like a host to the agent: <paramref name="hostAddress"/> (/32 or
    /// /128) on an uplink <c>eth0</c> that carries the default route. The uplink is a veth whose peer
    /// also stays in this namespace, so nothing leaves it. Proxy ARP for the workloads' 169.254.1.1
    /// only answers when that address routes out of a different interface, hence the default route.
    /// </summary>
    public async Task<NetNs> CreateHostNamespaceAsync(string shortName, IPAddress hostAddress)
    {
        var host = await CreateNamespaceAsync(shortName);
        var family = FamilyFlag(hostAddress);
        await host.IpCheckedAsync("link", "add", UplinkInterface, "type", "veth", "peer", "name", UplinkPeerInterface);
        await host.IpCheckedAsync("link", "set", UplinkPeerInterface, "up");
        await host.IpCheckedAsync("link", "set", UplinkInterface, "up");
        await AddAddressAsync(host, hostAddress, UplinkInterface);
        await host.IpCheckedAsync(family, "route", "add", "default", "dev", UplinkInterface);
        return host;
    }

    /// <summary>
    /// Creates a workload namespace and a veth pair: <c>cali…</c> (<paramref name="interfaceName"/>,
    /// random when null) in <paramref name="host"/>, up; <c>eth0</c> in the workload with
    /// <paramref name="ip"/> as /32 (/128), up, with a link route to the gateway and a default route via it.
    /// </summary>
    public async Task<Workload> CreateWorkloadAsync(NetNs host, IPAddress ip, string? interfaceName = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(ip);
        var hostInterface = interfaceName ?? NewInterfaceName();
        if (!InterfaceNamePattern().IsMatch(hostInterface))
        {
            throw new ArgumentException($"'{hostInterface}' is not a valid interface name (1-15 of [A-Za-z0-9_-]).", nameof(interfaceName));
        }

        int number;
        lock (_gate)
        {
            number = ++_workloads;
        }

        var workload = await CreateAsync($"{Prefix}w{number}");
        const string eth0 = Workload.InterfaceName;
        await host.IpCheckedAsync("link", "add", hostInterface, "type", "veth", "peer", "name", eth0, "netns", workload.Name);
        await host.IpCheckedAsync("link", "set", hostInterface, "up");
        await workload.IpCheckedAsync("link", "set", eth0, "up");
        await AddWorkloadAddressAsync(workload, ip);

        var mac = await ReadMacAsync(workload, eth0);
        return new Workload(host, workload, hostInterface, ip, mac);
    }

    /// <summary>
    /// Gives a workload a further address of the other family (a dual-stack container): the /32 or
    /// /128 on its <c>eth0</c> and a default route of that family via the gateway, as
    /// <see cref="CreateWorkloadAsync"/> does for the first one.
    /// </summary>
    public Task AddWorkloadAddressAsync(Workload workload, IPAddress ip)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(ip);
        if (ip.AddressFamily == workload.Address.AddressFamily)
        {
            throw new ArgumentException($"The workload already has an address of the family of {ip} ({workload.Address}).", nameof(ip));
        }

        return AddWorkloadAddressAsync(workload.Namespace, ip);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        var failures = new List<string>();
        foreach (var name in Created.Reverse())
        {
            var result = await CommandRunner.RunAsync(_ipPath, ["netns", "del", name]);
            lock (_gate)
            {
                _created.Remove(name);
            }

            if (!result.Succeeded && !result.StandardError.Contains("No such file", StringComparison.Ordinal))
            {
                failures.Add(new CommandFailedException(result).Message);
            }
        }

        foreach (var leftover in await ListLeftoverNamespacesAsync())
        {
            var result = await CommandRunner.RunAsync(_ipPath, ["netns", "del", leftover]);
            if (!result.Succeeded)
            {
                failures.Add(new CommandFailedException(result).Message);
            }
        }

        if (failures.Count > 0)
        {
            throw new InvalidOperationException(
                $"Could not delete all namespaces with prefix {Prefix}:{Environment.NewLine}"
                + string.Join(Environment.NewLine, failures));
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task<NetNs> CreateAsync(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_gate)
        {
            if (_created.Contains(name))
            {
                throw new ArgumentException($"Namespace {name} was already created by this fixture.", nameof(name));
            }

            // Recorded before it exists, so a half-done creation is still cleaned up.
            _created.Add(name);
        }

        await CommandRunner.RunCheckedAsync(_ipPath, ["netns", "add", name]);
        var netns = new NetNs(name, _ipPath);
        await netns.IpCheckedAsync("link", "set", "lo", "up");
        return netns;
    }

    private static async Task AddWorkloadAddressAsync(NetNs workload, IPAddress ip)
    {
        const string eth0 = Workload.InterfaceName;
        var family = FamilyFlag(ip);
        var gateway = ip.AddressFamily == AddressFamily.InterNetworkV6 ? Ipv6Gateway : Ipv4Gateway;
        await AddAddressAsync(workload, ip, eth0);
        await workload.IpCheckedAsync(family, "route", "add", gateway.ToString(), "dev", eth0, "scope", "link");
        await workload.IpCheckedAsync(family, "route", "add", "default", "via", gateway.ToString(), "dev", eth0);
    }

    // A /32 or /128; IPv6 skips duplicate address detection so the address is usable at once.
    private static Task<CommandResult> AddAddressAsync(NetNs netns, IPAddress address, string interfaceName) =>
        address.AddressFamily == AddressFamily.InterNetworkV6
            ? netns.IpCheckedAsync("-6", "addr", "add", $"{address}/128", "dev", interfaceName, "nodad")
            : netns.IpCheckedAsync("-4", "addr", "add", $"{address}/32", "dev", interfaceName);

    private static async Task<string> ReadMacAsync(NetNs netns, string interfaceName)
    {
        var result = await netns.IpCheckedAsync("-j", "link", "show", "dev", interfaceName);
        using var document = JsonDocument.Parse(result.StandardOutput);
        return document.RootElement[0].GetProperty("address").GetString()
            ?? throw new InvalidOperationException($"`{result.CommandLine}` reported no MAC address.");
    }

    private static string FamilyFlag(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? "-6" : "-4";

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,15}$")]
    private static partial Regex ShortNamePattern();

    [GeneratedRegex("^[A-Za-z0-9_-]{1,15}$")]
    private static partial Regex InterfaceNamePattern();
}
