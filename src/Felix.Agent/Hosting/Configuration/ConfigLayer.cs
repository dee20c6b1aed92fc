namespace Felix.Agent.Hosting.Configuration;

/// <summary>Where a layer of configuration comes from; the declaration order is the precedence.</summary>
public enum ConfigLayerKind
{
    Environment,
    ConfigFile,
    DatastorePerHost,
    DatastoreGlobal,
}

/// <summary>One raw setting, with where it was found so an error can point the operator at it.</summary>
public sealed record ConfigEntry(string Name, string RawValue, string Origin);

/// <summary>
/// All the raw settings of one source. The datastore layers are filled by the datastore once it has
/// read etcd; until then they are simply absent.
/// </summary>
public sealed record ConfigLayer(ConfigLayerKind Kind, IReadOnlyList<ConfigEntry> Entries)
{
    public const string EnvironmentPrefix = "FELIX_";

    /// <summary>The <c>FELIX_*</c> variables of an environment, names matched case-insensitively.</summary>
    public static ConfigLayer FromEnvironment(IEnumerable<KeyValuePair<string, string>> variables)
    {
        var entries = variables
            .Where(v => v.Key.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase)
                && v.Key.Length > EnvironmentPrefix.Length)
            .OrderBy(v => v.Key, StringComparer.Ordinal)
            .Select(v => new ConfigEntry(v.Key[EnvironmentPrefix.Length..], v.Value, $"environment variable {v.Key}"))
            .ToList();
        return new ConfigLayer(ConfigLayerKind.Environment, entries);
    }
}
