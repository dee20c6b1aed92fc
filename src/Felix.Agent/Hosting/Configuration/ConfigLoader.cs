namespace Felix.Agent.Hosting.Configuration;

/// <summary>
/// Gathers the local configuration layers — the process environment and the ini file — and
/// resolves them. The datastore layers join later, through <see cref="ConfigResolver"/>.
/// </summary>
public static class ConfigLoader
{
    public const string DefaultConfigFile = "/etc/felix/felix.cfg";

    /// <param name="configFile">The path given with <c>--config-file</c>, or <c>null</c> for the default.</param>
    /// <param name="environment">The process environment.</param>
    public static ConfigResolution Load(string? configFile, IEnumerable<KeyValuePair<string, string>> environment)
    {
        var (layers, error) = LoadLocalLayers(configFile, environment);
        return error is null ? ConfigResolver.Resolve(layers) : new ConfigResolution(null, [error], []);
    }

    /// <summary>The environment and config-file layers, or the one error that stops start-up.</summary>
    public static (IReadOnlyList<ConfigLayer> Layers, string? Error) LoadLocalLayers(
        string? configFile, IEnumerable<KeyValuePair<string, string>> environment)
    {
        var layers = new List<ConfigLayer> { ConfigLayer.FromEnvironment(environment) };
        var path = configFile ?? DefaultConfigFile;
        try
        {
            // The default file is optional; a file the operator named must exist.
            if (configFile is not null || File.Exists(path))
            {
                layers.Add(IniFile.Parse(path, File.ReadAllText(path)));
            }
        }
        catch (ConfigException e)
        {
            return (layers, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var reason = e is FileNotFoundException or DirectoryNotFoundException ? "does not exist" : $"cannot be read: {e.Message}";
            var named = configFile is null ? "" : " (from --config-file)";
            return (layers, $"config file {path}{named} {reason}");
        }
        return (layers, null);
    }

    /// <summary>The environment of this process as name/value pairs.</summary>
    public static IEnumerable<KeyValuePair<string, string>> ProcessEnvironment()
    {
        foreach (System.Collections.DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            yield return new((string)variable.Key, (string?)variable.Value ?? "");
        }
    }
}
