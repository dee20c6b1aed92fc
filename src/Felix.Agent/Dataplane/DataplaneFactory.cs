using System.Net;
using System.Net.Sockets;
using Felix.Agent.Hosting.Configuration;
using Felix.Agent.Policy;
using Felix.Dataplane;
using Felix.Dataplane.Exec;
using Felix.Dataplane.Ipsets;
using Felix.Dataplane.Iptables;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Felix.Agent.Dataplane;

/// <summary>
/// Builds this host's kernel objects and managers from the configuration: detects the iptables
/// backend (unless forced), opens the netlink connection and resolves MetadataAddr once, so
/// rendering never does a lookup. Each kernel object's refresh interval is jittered early
/// (<see cref="RefreshSchedule"/>), so the read-backs of the parts (and of the hosts of a cluster
/// started together) spread out instead of landing in the same apply.
/// </summary>
internal static partial class DataplaneFactory
{
    public static async Task<DataplaneSetup> CreateAsync(FelixConfig config, IMetricFactory metrics, ILoggerFactory loggers,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var log = loggers.CreateLogger("Felix.Agent.Dataplane");
        ICommandRunner runner = new TimedCommandRunner(new ProcessCommandRunner(clock), metrics);
        var backend = config.IptablesBackend switch
        {
            IptablesBackend.Legacy => IptablesBackendKind.Legacy,
            IptablesBackend.Nft => IptablesBackendKind.Nft,
            _ => await new IptablesBackendDetector(runner, loggers.CreateLogger("Felix.Dataplane.Iptables")).DetectAsync(cancellationToken),
        };
        IpVersion[] versions = config.Ipv6Support ? [IpVersion.V4, IpVersion.V6] : [IpVersion.V4];
        var metadata = await ResolveMetadataAsync(config.MetadataAddr, log, cancellationToken);
        var policy = new PolicyConfig(config.InterfacePrefix, config.IptablesMarkMask)
        {
            EndpointToHostAction = config.DefaultEndpointToHostAction,
            MetadataAddress = metadata,
            MetadataPort = config.MetadataPort,
        };

        var ipSets = new IpSets(runner, new IpsetMetrics(metrics), loggers.CreateLogger("Felix.Dataplane.Ipsets"),
            new IpSetsOptions { RefreshInterval = Jittered(config.IpsetsRefreshInterval) }, clock);
        var iptablesMetrics = new IptablesMetrics(metrics);
        var iptablesLog = loggers.CreateLogger("Felix.Dataplane.Iptables");
        var tables = new List<IptablesTable>();
        var tagSets = new IpSetManager(ipSets, config.MaxIpsetSize, config.Ipv6Support);
        var managers = new List<IDataplaneManager> { tagSets, new PoolSetManager(ipSets, config.MaxIpsetSize, config.Ipv6Support) };
        foreach (var version in versions)
        {
            var commands = new IptablesCommands(version, backend, config.IptablesLockTimeoutSecs);
            IptablesTable Table(TableName name) => new(name, commands, runner, iptablesMetrics, iptablesLog,
                new IptablesTableOptions { RefreshInterval = Jittered(config.IptablesRefreshInterval) }, clock);
            var (filter, nat) = (Table(TableName.Filter), Table(TableName.Nat));
            tables.AddRange([filter, nat]);
            managers.Add(new PolicyManager(new PolicyRenderer(version, policy), filter, nat));
        }

        var netlink = RouteNetlink.Open();
        ConntrackNetlink? conntrack = null;
        try
        {
            conntrack = ConntrackNetlink.Open();
            var routeMetrics = new RouteTableMetrics(metrics);
            var routesLog = loggers.CreateLogger("Felix.Dataplane.Routes");
            var routeTables = versions.Select(version => new RouteTable(version, netlink, conntrack, routeMetrics, routesLog,
                new RouteTableOptions { DeviceRouteProtocol = (byte)config.DeviceRouteProtocol, RefreshInterval = Jittered(config.RouteRefreshInterval) },
                clock)).ToList();
            var interfaces = new InterfaceConfigurator(netlink, new ProcSysctls(), new InterfaceMetrics(metrics), routesLog,
                new InterfaceConfiguratorOptions
                {
                    Ipv6Support = config.Ipv6Support,
                    // The to-host chain allows the metadata server; on 127.0.0.0/8 the kernel drops such packets without it.
                    RouteLocalnet = metadata is not null && metadata.AddressFamily == AddressFamily.InterNetwork && IPAddress.IsLoopback(metadata),
                    RefreshInterval = Jittered(config.RouteRefreshInterval),
                },
                clock);
            var endpoints = new EndpointManager(routeTables[0], routeTables.ElementAtOrDefault(1), interfaces, log);
            managers.Add(endpoints);
            if (config.RemoteWorkloadRoutes)
            {
                managers.Add(new RemoteRouteManager(routeTables[0]));
            }
            var families = versions.Length == 2 ? "IPv4 and IPv6" : "IPv4 only";
            var metadataText = metadata?.ToString() ?? "none";
            LogBuilt(log, backend == IptablesBackendKind.Nft ? "nft" : "legacy", families, metadataText);
            return new DataplaneSetup(new DataplaneApplier(ipSets, tables, routeTables, interfaces, clock), managers, endpoints,
                tagSets, netlink, conntrack);
        }
        catch
        {
            netlink.Dispose();
            conntrack?.Dispose();
            throw;
        }
    }

    /// <summary>MetadataAddr as an address: given as one, or looked up once; a name that does not resolve disables the allowance, loudly.</summary>
    private static async Task<IPAddress?> ResolveMetadataAsync(string? metadataAddr, ILogger log, CancellationToken cancellationToken)
    {
        if (metadataAddr is null)
        {
            return null;
        }
        if (IPAddress.TryParse(metadataAddr, out var address))
        {
            return address;
        }
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(metadataAddr, AddressFamily.InterNetwork, cancellationToken);
            if (addresses.Length > 0)
            {
                return addresses[0];
            }
        }
        catch (SocketException e)
        {
            LogMetadataUnresolved(log, metadataAddr, e.Message);
            return null;
        }
        LogMetadataUnresolved(log, metadataAddr, "no IPv4 address");
        return null;
    }

    private static TimeSpan Jittered(TimeSpan interval) => RefreshSchedule.Jittered(interval, Random.Shared.NextDouble());

    [LoggerMessage(Level = LogLevel.Information, Message = "Iptables backend {Backend}, {Families}, metadata server {Metadata}")]
    private static partial void LogBuilt(ILogger logger, string backend, string families, string metadata);

    [LoggerMessage(Level = LogLevel.Error, Message = "MetadataAddr {Name} does not resolve ({Error}): workloads get no metadata allowance")]
    private static partial void LogMetadataUnresolved(ILogger logger, string name, string error);
}
