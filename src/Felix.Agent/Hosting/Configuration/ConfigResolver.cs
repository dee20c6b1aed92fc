namespace Felix.Agent.Hosting.Configuration;

/// <summary>
/// The outcome of resolving configuration: a config, or the errors that stop start-up. Warnings
/// (unknown names, a datastore value for a local-only parameter) never stop anything.
/// </summary>
public sealed record ConfigResolution(FelixConfig? Config, IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings)
{
    public bool Succeeded => Config is not null;
}

/// <summary>
/// Applies the precedence of DESIGN.md §6 — environment, then config file, then per-host and global
/// datastore values, then defaults — and validates every value it keeps. A bad value in a higher
/// layer is an error even when a lower layer has a good one: the operator meant the higher one.
/// </summary>
public static class ConfigResolver
{
    public static ConfigResolution Resolve(IEnumerable<ConfigLayer> layers)
    {
        var errors = new List<string>();
        var warnings = new List<string>();
        var chosen = new Dictionary<ConfigParameter, ConfigEntry>();

        foreach (var layer in layers.OrderBy(l => l.Kind))
        {
            foreach (var entry in layer.Entries)
            {
                var parameter = ConfigParameters.Find(entry.Name);
                if (parameter is null)
                {
                    warnings.Add($"ignoring unknown configuration parameter '{entry.Name}' ({entry.Origin})");
                    continue;
                }
                if (parameter.LocalOnly && IsDatastore(layer.Kind))
                {
                    warnings.Add($"ignoring {parameter.Name} ({entry.Origin}): it can only be set in the environment or the config file");
                    continue;
                }
                // An empty value means "not set here", so an empty FELIX_X does not mask the file.
                if (entry.RawValue.Trim().Length == 0 || chosen.ContainsKey(parameter))
                {
                    continue;
                }
                // A bad value in etcd must never stop the agent: it is absent, and a lower layer
                // (or the default) applies. Local layers are the operator's own: errors there stop.
                if (IsDatastore(layer.Kind) && !parameter.TryParseBoxed(entry.RawValue, out _))
                {
                    warnings.Add($"ignoring invalid value for {parameter.Name}: \"{Printable(entry.RawValue)}\" ({entry.Origin}); must be {parameter.Allowed}");
                    continue;
                }
                chosen[parameter] = entry;
            }
        }

        var values = new Dictionary<ConfigParameter, ResolvedValue>();
        foreach (var parameter in ConfigParameters.All)
        {
            if (!chosen.TryGetValue(parameter, out var entry))
            {
                values[parameter] = new ResolvedValue(parameter.DefaultBoxed(), null);
            }
            else if (parameter.TryParseBoxed(entry.RawValue, out var value))
            {
                values[parameter] = new ResolvedValue(value, entry.Origin);
            }
            else
            {
                errors.Add($"invalid value for {parameter.Name}: \"{Printable(entry.RawValue)}\" ({entry.Origin}); must be {parameter.Allowed}");
            }
        }

        if (errors.Count == 0)
        {
            CheckCombinations(values, errors);
        }
        return errors.Count == 0
            ? new ConfigResolution(new FelixConfig(values), errors, warnings)
            : new ConfigResolution(null, errors, warnings);
    }

    private static void CheckCombinations(Dictionary<ConfigParameter, ResolvedValue> values, List<string> errors)
    {
        var cert = values[ConfigParameters.EtcdCertFile];
        var key = values[ConfigParameters.EtcdKeyFile];
        if ((cert.Value is null) != (key.Value is null))
        {
            var (set, missing) = cert.Value is null ? ("EtcdKeyFile", "EtcdCertFile") : ("EtcdCertFile", "EtcdKeyFile");
            errors.Add($"{set} is set ({(cert.Origin ?? key.Origin)}) but {missing} is not; a client certificate needs both");
        }
    }

    private static bool IsDatastore(ConfigLayerKind kind) =>
        kind is ConfigLayerKind.DatastorePerHost or ConfigLayerKind.DatastoreGlobal;

    // Values end up in a single log line: keep control characters out of it.
    private static string Printable(string raw)
    {
        var shortened = raw.Length <= 80 ? raw : raw[..77] + "...";
        return string.Concat(shortened.Select(c => char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString()));
    }
}

/// <summary>A parsed value and where it came from (<c>null</c>: the default).</summary>
public sealed record ResolvedValue(object? Value, string? Origin);
