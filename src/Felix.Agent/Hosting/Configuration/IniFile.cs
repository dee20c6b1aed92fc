namespace Felix.Agent.Hosting.Configuration;

/// <summary>
/// Reads the agent's ini file: <c>Name = value</c> lines; <c>[section]</c> headers are accepted and
/// ignored; <c>#</c> and <c>;</c> start comment lines. A line that is none of these is an error
/// naming the file and line, so a typo never silently falls back to a default.
/// </summary>
public static class IniFile
{
    public static ConfigLayer Parse(string path, string text)
    {
        var entries = new List<ConfigEntry>();
        var lineNumber = 0;
        foreach (var rawLine in text.Split('\n'))
        {
            lineNumber++;
            var line = rawLine.Trim();
            if (line.Length == 0 || line[0] is '#' or ';' || (line[0] == '[' && line[^1] == ']'))
            {
                continue;
            }
            var separator = line.IndexOfAny(['=', ':']);
            if (separator <= 0)
            {
                throw new ConfigException(
                    $"config file {path} line {lineNumber}: expected 'Name = value', found '{Shorten(line)}'");
            }
            var name = line[..separator].Trim();
            entries.Add(new ConfigEntry(name, line[(separator + 1)..].Trim(), $"config file {path} line {lineNumber}"));
        }
        return new ConfigLayer(ConfigLayerKind.ConfigFile, entries);
    }

    private static string Shorten(string line) => line.Length <= 60 ? line : line[..57] + "...";
}
