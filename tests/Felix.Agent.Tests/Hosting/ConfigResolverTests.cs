using Felix.Agent.Hosting.Configuration;

namespace Felix.Agent.Tests.Hosting;

public class ConfigResolverTests
{
    private static ConfigLayer Layer(ConfigLayerKind kind, params (string Name, string Value)[] entries) =>
        new(kind, entries.Select(e => new ConfigEntry(e.Name, e.Value, $"{kind} {e.Name}")).ToList());

    private static ConfigLayer Env(params (string Name, string Value)[] variables) =>
        ConfigLayer.FromEnvironment(variables.Select(v => new KeyValuePair<string, string>(v.Name, v.Value)));

    private static FelixConfig Resolve(params ConfigLayer[] layers)
    {
        var resolution = ConfigResolver.Resolve(layers);
        Assert.Empty(resolution.Errors);
        return resolution.Config!;
    }

    [Fact]
    public void Defaults_match_the_design()
    {
        var config = Resolve();
        Assert.Equal([new Uri("http://127.0.0.1:2379")], config.EtcdEndpoints);
        Assert.Equal("cali", config.InterfacePrefix);
        Assert.Equal(IptablesBackend.Auto, config.IptablesBackend);
        Assert.Equal(TimeSpan.FromSeconds(90), config.IptablesRefreshInterval);
        Assert.Equal(TimeSpan.FromSeconds(90), config.IpsetsRefreshInterval);
        Assert.Equal(TimeSpan.FromSeconds(90), config.RouteRefreshInterval);
        Assert.Equal(10, config.IptablesLockTimeoutSecs);
        Assert.Equal(0xff000000u, config.IptablesMarkMask);
        Assert.Equal(EndpointToHostAction.Drop, config.DefaultEndpointToHostAction);
        Assert.Equal("127.0.0.1", config.MetadataAddr);
        Assert.Equal(8775, config.MetadataPort);
        Assert.Equal(1048576, config.MaxIpsetSize);
        Assert.True(config.Ipv6Support);
        Assert.Equal(80, config.DeviceRouteProtocol);
        Assert.False(config.RemoteWorkloadRoutes);
        Assert.Equal(30, config.ReportingIntervalSecs);
        Assert.Equal(90, config.ReportingTTLSecs);
        Assert.False(config.EndpointReportingEnabled);
        Assert.True(config.PrometheusMetricsEnabled);
        Assert.Equal("0.0.0.0", config.PrometheusMetricsHost);
        Assert.Equal(9091, config.PrometheusMetricsPort);
        Assert.True(config.HealthEnabled);
        Assert.Equal("127.0.0.1", config.HealthHost);
        Assert.Equal(9099, config.HealthPort);
        Assert.Equal(LogSeverity.Info, config.LogSeverityScreen);
        Assert.Equal(System.Net.Dns.GetHostName(), config.FelixHostname);
        Assert.Null(config.EtcdCaFile);
        Assert.Empty(config.ExplicitlySet());
    }

    [Fact]
    public void Every_parameter_of_the_design_is_declared_once()
    {
        string[] design =
        [
            "EtcdEndpoints", "EtcdAddr", "EtcdScheme", "EtcdCaFile", "EtcdCertFile", "EtcdKeyFile", "FelixHostname",
            "InterfacePrefix", "IptablesBackend", "IptablesRefreshInterval", "IpsetsRefreshInterval",
            "RouteRefreshInterval", "IptablesLockTimeoutSecs", "IptablesMarkMask", "DefaultEndpointToHostAction",
            "MetadataAddr", "MetadataPort", "MaxIpsetSize", "Ipv6Support", "DeviceRouteProtocol", "RemoteWorkloadRoutes",
            "ReportingIntervalSecs", "ReportingTTLSecs", "EndpointReportingEnabled", "PrometheusMetricsEnabled",
            "PrometheusMetricsHost", "PrometheusMetricsPort", "HealthEnabled", "HealthHost", "HealthPort",
            "LogSeverityScreen",
        ];
        Assert.Equal(design.Order(), ConfigParameters.All.Select(p => p.Name).Order());
    }

    [Fact]
    public void Environment_beats_file_beats_per_host_beats_global()
    {
        var config = Resolve(
            Layer(ConfigLayerKind.DatastoreGlobal, ("HealthPort", "1001"), ("MetadataPort", "2001"), ("MaxIpsetSize", "3001"), ("ReportingTTLSecs", "4001")),
            Layer(ConfigLayerKind.DatastorePerHost, ("HealthPort", "1002"), ("MetadataPort", "2002"), ("MaxIpsetSize", "3002")),
            Layer(ConfigLayerKind.ConfigFile, ("HealthPort", "1003"), ("MetadataPort", "2003")),
            Env(("FELIX_HEALTHPORT", "1004")));

        Assert.Equal(1004, config.HealthPort);
        Assert.Equal(2003, config.MetadataPort);
        Assert.Equal(3002, config.MaxIpsetSize);
        Assert.Equal(4001, config.ReportingTTLSecs);
        Assert.Equal("environment variable FELIX_HEALTHPORT", config.OriginOf(ConfigParameters.HealthPort));
    }

    [Theory]
    [InlineData("FELIX_HEALTHPORT")]
    [InlineData("felix_healthport")]
    [InlineData("Felix_HealthPort")]
    public void Environment_names_are_case_insensitive(string variable)
    {
        Assert.Equal(19099, Resolve(Env((variable, "19099"))).HealthPort);
    }

    [Fact]
    public void An_empty_environment_value_does_not_mask_the_file()
    {
        var config = Resolve(Env(("FELIX_HEALTHPORT", "")), Layer(ConfigLayerKind.ConfigFile, ("healthport", "7000")));
        Assert.Equal(7000, config.HealthPort);
    }

    [Fact]
    public void Unknown_names_are_warnings_not_errors()
    {
        var resolution = ConfigResolver.Resolve([Env(("FELIX_NOSUCHTHING", "1"))]);
        Assert.True(resolution.Succeeded);
        var warning = Assert.Single(resolution.Warnings);
        Assert.Contains("NOSUCHTHING", warning, StringComparison.Ordinal);
        Assert.Contains("environment variable FELIX_NOSUCHTHING", warning, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("FELIX_HEALTHPORT", "abc", "HealthPort", "an integer from 1 to 65535")]
    [InlineData("FELIX_HEALTHPORT", "70000", "HealthPort", "an integer from 1 to 65535")]
    [InlineData("FELIX_IPTABLESBACKEND", "bogus", "IptablesBackend", "one of auto, legacy, nft")]
    [InlineData("FELIX_IPV6SUPPORT", "maybe", "Ipv6Support", "a boolean")]
    [InlineData("FELIX_DEFAULTENDPOINTTOHOSTACTION", "REJECT", "DefaultEndpointToHostAction", "one of DROP, ACCEPT, RETURN")]
    [InlineData("FELIX_IPTABLESMARKMASK", "0x0", "IptablesMarkMask", "non-zero")]
    [InlineData("FELIX_IPTABLESREFRESHINTERVAL", "-1", "IptablesRefreshInterval", "0 or more")]
    [InlineData("FELIX_DEVICEROUTEPROTOCOL", "2", "DeviceRouteProtocol", "other than 2")]
    [InlineData("FELIX_INTERFACEPREFIX", "cali; rm", "InterfacePrefix", "letters, digits")]
    [InlineData("FELIX_FELIXHOSTNAME", "host/../x", "FelixHostname", "host name")]
    [InlineData("FELIX_ETCDENDPOINTS", "ftp://x:1", "EtcdEndpoints", "http:// or https://")]
    [InlineData("FELIX_ETCDCAFILE", "/nonexistent/ca.pem", "EtcdCaFile", "existing")]
    [InlineData("FELIX_LOGSEVERITYSCREEN", "LOUD", "LogSeverityScreen", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL")]
    public void A_bad_value_is_one_error_naming_parameter_origin_and_allowed_values(
        string variable, string value, string parameter, string allowed)
    {
        var resolution = ConfigResolver.Resolve([Env((variable, value))]);

        Assert.False(resolution.Succeeded);
        var error = Assert.Single(resolution.Errors);
        Assert.DoesNotContain('\n', error);
        Assert.Contains(parameter, error, StringComparison.Ordinal);
        Assert.Contains($"environment variable {variable}", error, StringComparison.Ordinal);
        Assert.Contains(allowed, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_higher_layer_value_is_an_error_even_when_a_lower_layer_is_good()
    {
        var resolution = ConfigResolver.Resolve([
            Env(("FELIX_HEALTHPORT", "abc")), Layer(ConfigLayerKind.ConfigFile, ("HealthPort", "9099"))]);
        Assert.False(resolution.Succeeded);
    }

    [Fact]
    public void Control_characters_in_a_bad_value_are_escaped_in_the_error()
    {
        var error = Assert.Single(ConfigResolver.Resolve([Env(("FELIX_HEALTHPORT", "1\n2\u001b[31m"))]).Errors);
        Assert.DoesNotContain('\n', error);
        Assert.DoesNotContain('\u001b', error);
        Assert.Contains(@"\x0a", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_datastore_value_is_a_warning_and_the_next_layer_applies()
    {
        var resolution = ConfigResolver.Resolve([
            Layer(ConfigLayerKind.DatastorePerHost, ("HealthPort", "abc")),
            Layer(ConfigLayerKind.DatastoreGlobal, ("HealthPort", "7010"))]);

        Assert.Equal(7010, resolution.Config!.HealthPort);
        var warning = Assert.Single(resolution.Warnings);
        Assert.Contains("HealthPort", warning, StringComparison.Ordinal);
        Assert.Contains("DatastorePerHost", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Local_only_parameters_are_ignored_from_the_datastore()
    {
        var resolution = ConfigResolver.Resolve([
            Layer(ConfigLayerKind.DatastoreGlobal, ("EtcdEndpoints", "http://10.0.0.1:2379"), ("FelixHostname", "other"))]);

        Assert.Equal([new Uri("http://127.0.0.1:2379")], resolution.Config!.EtcdEndpoints);
        Assert.NotEqual("other", resolution.Config.FelixHostname);
        Assert.Equal(2, resolution.Warnings.Count);
    }

    [Fact]
    public void Etcd_endpoints_fall_back_to_the_legacy_scheme_and_address()
    {
        var config = Resolve(Env(("FELIX_ETCDSCHEME", "https"), ("FELIX_ETCDADDR", "etcd.example:4001")));
        Assert.Equal([new Uri("https://etcd.example:4001")], config.EtcdEndpoints);

        var explicitList = Resolve(Env(("FELIX_ETCDENDPOINTS", "http://a:1, http://b:2"), ("FELIX_ETCDADDR", "c:3")));
        Assert.Equal([new Uri("http://a:1"), new Uri("http://b:2")], explicitList.EtcdEndpoints);
    }

    [Fact]
    public void A_client_certificate_needs_its_key()
    {
        var cert = Path.GetTempFileName();
        try
        {
            var error = Assert.Single(ConfigResolver.Resolve([Env(("FELIX_ETCDCERTFILE", cert))]).Errors);
            Assert.Contains("EtcdKeyFile", error, StringComparison.Ordinal);
            Assert.True(ConfigResolver.Resolve([Env(("FELIX_ETCDCERTFILE", cert), ("FELIX_ETCDKEYFILE", cert))]).Succeeded);
        }
        finally
        {
            File.Delete(cert);
        }
    }

    [Theory]
    [InlineData("0xff000000", 0xff000000u)]
    [InlineData("0X00010000", 0x00010000u)]
    [InlineData("4278190080", 0xff000000u)]
    public void Mark_masks_are_hex_or_decimal(string raw, uint expected)
    {
        Assert.Equal(expected, Resolve(Env(("FELIX_IPTABLESMARKMASK", raw))).IptablesMarkMask);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("FALSE", false)]
    [InlineData("yes", true)]
    [InlineData("0", false)]
    public void Booleans_accept_the_usual_spellings(string raw, bool expected)
    {
        Assert.Equal(expected, Resolve(Env(("FELIX_IPV6SUPPORT", raw))).Ipv6Support);
    }

    [Theory]
    [InlineData("warn", LogSeverity.Warning)]
    [InlineData("FATAL", LogSeverity.Critical)]
    [InlineData("Debug", LogSeverity.Debug)]
    public void Log_severities_accept_the_old_aliases(string raw, LogSeverity expected)
    {
        Assert.Equal(expected, Resolve(Env(("FELIX_LOGSEVERITYSCREEN", raw))).LogSeverityScreen);
    }

    [Fact]
    public void Typed_values_are_parsed()
    {
        var config = Resolve(Env(
            ("FELIX_ROUTEREFRESHINTERVAL", "2.5"), ("FELIX_METADATAADDR", "none"), ("FELIX_LOGSEVERITYSCREEN", "warning"),
            ("FELIX_IPTABLESBACKEND", "NFT"), ("FELIX_DEFAULTENDPOINTTOHOSTACTION", "return"), ("FELIX_ETCDADDR", "[::1]:2379")));

        Assert.Equal(TimeSpan.FromSeconds(2.5), config.RouteRefreshInterval);
        Assert.Null(config.MetadataAddr);
        Assert.Equal(LogSeverity.Warning, config.LogSeverityScreen);
        Assert.Equal(IptablesBackend.Nft, config.IptablesBackend);
        Assert.Equal(EndpointToHostAction.Return, config.DefaultEndpointToHostAction);
    }
}
