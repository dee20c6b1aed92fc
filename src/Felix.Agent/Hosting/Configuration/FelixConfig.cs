namespace Felix.Agent.Hosting.Configuration;

/// <summary>
/// The agent's configuration, typed and immutable. Built only by <see cref="ConfigResolver"/>, so
/// every value in it has been validated; <see cref="OriginOf"/> says where a value came from.
/// </summary>
public sealed class FelixConfig
{
    private readonly IReadOnlyDictionary<ConfigParameter, ResolvedValue> _values;

    internal FelixConfig(IReadOnlyDictionary<ConfigParameter, ResolvedValue> values)
    {
        _values = values;
    }

    public IReadOnlyList<Uri> EtcdEndpoints =>
        Get(ConfigParameters.EtcdEndpoints) ?? [new Uri($"{EtcdScheme}://{EtcdAddr}")];
    public string EtcdAddr => Get(ConfigParameters.EtcdAddr);
    public string EtcdScheme => Get(ConfigParameters.EtcdScheme);
    public string? EtcdCaFile => Get(ConfigParameters.EtcdCaFile);
    public string? EtcdCertFile => Get(ConfigParameters.EtcdCertFile);
    public string? EtcdKeyFile => Get(ConfigParameters.EtcdKeyFile);
    public string FelixHostname => Get(ConfigParameters.FelixHostname);
    public string InterfacePrefix => Get(ConfigParameters.InterfacePrefix);
    public IptablesBackend IptablesBackend => Get(ConfigParameters.IptablesBackend);
    public TimeSpan IptablesRefreshInterval => Get(ConfigParameters.IptablesRefreshInterval);
    public TimeSpan IpsetsRefreshInterval => Get(ConfigParameters.IpsetsRefreshInterval);
    public TimeSpan RouteRefreshInterval => Get(ConfigParameters.RouteRefreshInterval);
    public int IptablesLockTimeoutSecs => Get(ConfigParameters.IptablesLockTimeoutSecs);
    public uint IptablesMarkMask => Get(ConfigParameters.IptablesMarkMask);
    public EndpointToHostAction DefaultEndpointToHostAction => Get(ConfigParameters.DefaultEndpointToHostAction);

    /// <summary><c>null</c> when the metadata allowance is disabled (<c>none</c>).</summary>
    public string? MetadataAddr => Get(ConfigParameters.MetadataAddr);
    public int MetadataPort => Get(ConfigParameters.MetadataPort);
    public int MaxIpsetSize => Get(ConfigParameters.MaxIpsetSize);
    public bool Ipv6Support => Get(ConfigParameters.Ipv6Support);
    public int DeviceRouteProtocol => Get(ConfigParameters.DeviceRouteProtocol);
    public bool RemoteWorkloadRoutes => Get(ConfigParameters.RemoteWorkloadRoutes);
    public int ReportingIntervalSecs => Get(ConfigParameters.ReportingIntervalSecs);
    public int ReportingTTLSecs => Get(ConfigParameters.ReportingTTLSecs);
    public bool EndpointReportingEnabled => Get(ConfigParameters.EndpointReportingEnabled);
    public bool PrometheusMetricsEnabled => Get(ConfigParameters.PrometheusMetricsEnabled);
    public string PrometheusMetricsHost => Get(ConfigParameters.PrometheusMetricsHost);
    public int PrometheusMetricsPort => Get(ConfigParameters.PrometheusMetricsPort);
    public bool HealthEnabled => Get(ConfigParameters.HealthEnabled);
    public string HealthHost => Get(ConfigParameters.HealthHost);
    public int HealthPort => Get(ConfigParameters.HealthPort);
    public LogSeverity LogSeverityScreen => Get(ConfigParameters.LogSeverityScreen);

    public T Get<T>(ConfigParameter<T> parameter) => (T)_values[parameter].Value!;

    /// <summary>The value of any parameter, for comparing two configurations.</summary>
    public object? ValueOf(ConfigParameter parameter) => _values[parameter].Value;

    /// <summary>Where the value came from, or <c>null</c> when it is the default.</summary>
    public string? OriginOf(ConfigParameter parameter) => _values[parameter].Origin;

    /// <summary>The parameters set by some source, for the start-up log.</summary>
    public IEnumerable<(ConfigParameter Parameter, string Origin)> ExplicitlySet() =>
        ConfigParameters.All
            .Where(p => _values[p].Origin is not null)
            .Select(p => (p, _values[p].Origin!));
}
