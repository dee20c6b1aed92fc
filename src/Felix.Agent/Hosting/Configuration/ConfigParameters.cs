using System.Net;

namespace Felix.Agent.Hosting.Configuration;

/// <summary>
/// Every parameter of the agent, with its default and its parser (DESIGN.md §6). This table is
/// the single source for validation, <c>--help</c> and <see cref="FelixConfig"/>.
/// </summary>
public static class ConfigParameters
{
    // Declared first: static initialisers run in textual order and DeviceRouteProtocol uses it.
    // 0 (unspecified) and 2 (kernel) are refused: the agent deletes routes of its own protocol, and
    // the kernel's connected routes must never look like ours.
    private static ValueParser<int> DeviceRouteProtocolParser { get; } = new(
        "an integer from 1 to 255 other than 2 (the kernel's own routes)",
        static (string raw, out int value) => ValueParsers.WholeNumber(1, 255).TryParse(raw, out value) && value != 2);

    public static readonly ConfigParameter<IReadOnlyList<Uri>?> EtcdEndpoints = new(
        "EtcdEndpoints", ValueParsers.UrlList, () => null, "EtcdScheme://EtcdAddr",
        "etcd client URLs, comma-separated; overrides EtcdAddr and EtcdScheme", localOnly: true);

    public static readonly ConfigParameter<string> EtcdAddr = new(
        "EtcdAddr", ValueParsers.HostPort, () => "127.0.0.1:2379", "127.0.0.1:2379",
        "etcd host:port (legacy form, used when EtcdEndpoints is not set)", localOnly: true);

    public static readonly ConfigParameter<string> EtcdScheme = new(
        "EtcdScheme", ValueParsers.OneOf(("http", "http"), ("https", "https")), () => "http", "http",
        "scheme for EtcdAddr", localOnly: true);

    public static readonly ConfigParameter<string?> EtcdCaFile = new(
        "EtcdCaFile", ValueParsers.ExistingFile, () => null, "none",
        "CA certificate that signs etcd's server certificate", localOnly: true);

    public static readonly ConfigParameter<string?> EtcdCertFile = new(
        "EtcdCertFile", ValueParsers.ExistingFile, () => null, "none",
        "client certificate for etcd (needs EtcdKeyFile)", localOnly: true);

    public static readonly ConfigParameter<string?> EtcdKeyFile = new(
        "EtcdKeyFile", ValueParsers.ExistingFile, () => null, "none",
        "private key of EtcdCertFile", localOnly: true);

    public static readonly ConfigParameter<string> FelixHostname = new(
        "FelixHostname", ValueParsers.Hostname, Dns.GetHostName, "this machine's host name",
        "which /calico/v1/host/<host> subtree belongs to this agent", localOnly: true);

    public static readonly ConfigParameter<string> InterfacePrefix = new(
        "InterfacePrefix", ValueParsers.InterfacePrefix, () => "cali", "cali",
        "name prefix of workload interfaces");

    public static readonly ConfigParameter<IptablesBackend> IptablesBackend = new(
        "IptablesBackend",
        ValueParsers.OneOf(("auto", Configuration.IptablesBackend.Auto), ("legacy", Configuration.IptablesBackend.Legacy),
            ("nft", Configuration.IptablesBackend.Nft)),
        () => Configuration.IptablesBackend.Auto, "auto",
        "iptables backend: auto detects whichever already holds rules (nft when both are empty)");

    public static readonly ConfigParameter<TimeSpan> IptablesRefreshInterval = new(
        "IptablesRefreshInterval", ValueParsers.Seconds, () => TimeSpan.FromSeconds(90), "90",
        "seconds between iptables read-back and repair; 0 disables");

    public static readonly ConfigParameter<TimeSpan> IpsetsRefreshInterval = new(
        "IpsetsRefreshInterval", ValueParsers.Seconds, () => TimeSpan.FromSeconds(90), "90",
        "seconds between ipset read-back and repair; 0 disables");

    public static readonly ConfigParameter<TimeSpan> RouteRefreshInterval = new(
        "RouteRefreshInterval", ValueParsers.Seconds, () => TimeSpan.FromSeconds(90), "90",
        "seconds between route and interface read-back and repair; 0 disables");

    public static readonly ConfigParameter<int> IptablesLockTimeoutSecs = new(
        "IptablesLockTimeoutSecs", ValueParsers.WholeNumber(0, 3600), () => 10, "10",
        "seconds to wait for the xtables lock instead of failing");

    public static readonly ConfigParameter<uint> IptablesMarkMask = new(
        "IptablesMarkMask", ValueParsers.NonZeroMask, () => 0xff000000, "0xff000000",
        "packet mark bits the agent may use");

    public static readonly ConfigParameter<EndpointToHostAction> DefaultEndpointToHostAction = new(
        "DefaultEndpointToHostAction",
        ValueParsers.OneOf(("DROP", EndpointToHostAction.Drop), ("ACCEPT", EndpointToHostAction.Accept),
            ("RETURN", EndpointToHostAction.Return)),
        () => EndpointToHostAction.Drop, "DROP",
        "workload-to-host traffic: DROP, ACCEPT, or RETURN (to the host's own INPUT rules)");

    public static readonly ConfigParameter<string?> MetadataAddr = new(
        "MetadataAddr", ValueParsers.HostOrNone, () => "127.0.0.1", "127.0.0.1",
        "metadata server workloads may reach on the host; none disables the allowance");

    public static readonly ConfigParameter<int> MetadataPort = new(
        "MetadataPort", ValueParsers.Port, () => 8775, "8775", "port of the metadata server");

    public static readonly ConfigParameter<int> MaxIpsetSize = new(
        "MaxIpsetSize", ValueParsers.WholeNumber(1, int.MaxValue), () => 1048576, "1048576",
        "largest number of members in one ipset");

    public static readonly ConfigParameter<bool> Ipv6Support = new(
        "Ipv6Support", ValueParsers.Bool, () => true, "true", "program IPv6 (ip6tables, v6 sets, v6 routes)");

    public static readonly ConfigParameter<int> DeviceRouteProtocol = new(
        "DeviceRouteProtocol", DeviceRouteProtocolParser, () => 80, "80",
        "route protocol number marking the routes this agent owns (and may delete)");

    public static readonly ConfigParameter<bool> RemoteWorkloadRoutes = new(
        "RemoteWorkloadRoutes", ValueParsers.Bool, () => false, "false",
        "also route remote workloads via their host's bird_ip (flat L2 networks without BGP)");

    public static readonly ConfigParameter<int> ReportingIntervalSecs = new(
        "ReportingIntervalSecs", ValueParsers.WholeNumber(0, 86400), () => 30, "30",
        "seconds between status reports to etcd; 0 disables");

    public static readonly ConfigParameter<int> ReportingTTLSecs = new(
        "ReportingTTLSecs", ValueParsers.WholeNumber(0, 86400), () => 90, "90",
        "lifetime of the status report in etcd");

    public static readonly ConfigParameter<bool> EndpointReportingEnabled = new(
        "EndpointReportingEnabled", ValueParsers.Bool, () => false, "false",
        "write per-endpoint status to etcd");

    public static readonly ConfigParameter<bool> PrometheusMetricsEnabled = new(
        "PrometheusMetricsEnabled", ValueParsers.Bool, () => true, "true", "serve /metrics");

    public static readonly ConfigParameter<string> PrometheusMetricsHost = new(
        "PrometheusMetricsHost", ValueParsers.Host, () => "0.0.0.0", "0.0.0.0",
        "address /metrics listens on (0.0.0.0: every address)");

    public static readonly ConfigParameter<int> PrometheusMetricsPort = new(
        "PrometheusMetricsPort", ValueParsers.Port, () => 9091, "9091", "port /metrics listens on");

    public static readonly ConfigParameter<bool> HealthEnabled = new(
        "HealthEnabled", ValueParsers.Bool, () => true, "true", "serve /liveness and /readiness");

    public static readonly ConfigParameter<string> HealthHost = new(
        "HealthHost", ValueParsers.Host, () => "127.0.0.1", "127.0.0.1", "address the health endpoints listen on");

    public static readonly ConfigParameter<int> HealthPort = new(
        "HealthPort", ValueParsers.Port, () => 9099, "9099", "port the health endpoints listen on");

    public static readonly ConfigParameter<LogSeverity> LogSeverityScreen = new(
        "LogSeverityScreen",
        ValueParsers.OneOf(("DEBUG", LogSeverity.Debug), ("INFO", LogSeverity.Info), ("WARNING", LogSeverity.Warning),
            ("ERROR", LogSeverity.Error), ("CRITICAL", LogSeverity.Critical), ("WARN", LogSeverity.Warning),
            ("FATAL", LogSeverity.Critical)),
        () => LogSeverity.Info, "INFO",
        "least severe level written to stdout: DEBUG, INFO, WARNING, ERROR or CRITICAL");

    public static IReadOnlyList<ConfigParameter> All { get; } =
    [
        EtcdEndpoints, EtcdAddr, EtcdScheme, EtcdCaFile, EtcdCertFile, EtcdKeyFile, FelixHostname,
        InterfacePrefix, IptablesBackend, IptablesRefreshInterval, IpsetsRefreshInterval, RouteRefreshInterval,
        IptablesLockTimeoutSecs, IptablesMarkMask, DefaultEndpointToHostAction, MetadataAddr, MetadataPort,
        MaxIpsetSize, Ipv6Support, DeviceRouteProtocol, RemoteWorkloadRoutes, ReportingIntervalSecs,
        ReportingTTLSecs, EndpointReportingEnabled, PrometheusMetricsEnabled, PrometheusMetricsHost,
        PrometheusMetricsPort, HealthEnabled, HealthHost, HealthPort, LogSeverityScreen,
    ];

    private static readonly Dictionary<string, ConfigParameter> ByName =
        All.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    public static ConfigParameter? Find(string name) => ByName.GetValueOrDefault(name);
}
