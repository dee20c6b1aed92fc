namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// A systemd unit file read as systemd reads it (<c>systemd.syntax(7)</c>): sections, <c>Key=value</c>
/// assignments in order (a key may repeat; an empty value resets what came before), comments
/// starting with <c>#</c> or <c>;</c>, and lines continued with a trailing backslash.
/// </summary>
public sealed class SystemdUnit
{
    private readonly List<(string Section, string Key, string Value)> _assignments;

    private SystemdUnit(List<(string Section, string Key, string Value)> assignments) => _assignments = assignments;

    /// <summary>felix.service as the package ships it, from the repository.</summary>
    public static string FelixServicePath => Path.Combine(AgentProcess.RepositoryRoot(), "packaging", "systemd", "felix.service");

    /// <summary>felix.tmpfiles, installed as /usr/lib/tmpfiles.d/felix.conf.</summary>
    public static string FelixTmpfilesPath => Path.Combine(AgentProcess.RepositoryRoot(), "packaging", "systemd", "felix.tmpfiles");

    public static SystemdUnit Load(string path) => Parse(File.ReadAllText(path));

    public static SystemdUnit Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var assignments = new List<(string, string, string)>();
        string? section = null;
        var pending = string.Empty;
        foreach (var raw in text.Split('\n'))
        {
            var line = pending + raw.Trim();
            pending = string.Empty;
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }
            if (line.EndsWith('\\'))
            {
                pending = line[..^1] + " ";
                continue;
            }
            if (line[0] == '[')
            {
                section = line.TrimStart('[').TrimEnd(']');
                continue;
            }
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (section is null || equals <= 0)
            {
                throw new FormatException($"not a unit file line: '{line}'");
            }
            assignments.Add((section, line[..equals].Trim(), line[(equals + 1)..].Trim()));
        }
        return new SystemdUnit(assignments);
    }

    /// <summary>The keys assigned in <paramref name="section"/>, each once.</summary>
    public IReadOnlyList<string> Keys(string section) =>
        _assignments.Where(a => a.Section == section).Select(a => a.Key).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Every value assigned to <paramref name="key"/> since its last reset (empty value), in order.</summary>
    public IReadOnlyList<string> Values(string section, string key)
    {
        var values = new List<string>();
        foreach (var (s, k, value) in _assignments)
        {
            if (s != section || k != key)
            {
                continue;
            }
            if (value.Length == 0)
            {
                values.Clear();
            }
            else
            {
                values.Add(value);
            }
        }
        return values;
    }

    /// <summary>The last value of <paramref name="key"/>, or null when it is not set.</summary>
    public string? Value(string section, string key) => Values(section, key) is [.., var last] ? last : null;

    /// <summary>A boolean setting as systemd reads it (yes/true/on/1); false when unset.</summary>
    public bool IsTrue(string section, string key) =>
        Value(section, key) is { } value && value.ToLowerInvariant() is "yes" or "true" or "on" or "1";

    /// <summary>The space-separated words of every value of <paramref name="key"/>.</summary>
    public IReadOnlyList<string> Words(string section, string key) =>
        Values(section, key).SelectMany(v => v.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
}
