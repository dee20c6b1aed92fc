using System.Collections.Concurrent;

namespace Felix.Agent.Model;

/// <summary>
/// One string per distinct hostname, orchestrator id and endpoint id. A cluster of 100k endpoints
/// has a thousand hosts, one or two orchestrators and mostly one endpoint id ("eth0"), yet every
/// key parsed from etcd would otherwise hold its own copy of each: ~9 MB at 100k endpoints for three
/// words. Bounded, because the names come from the datastore: past <see cref="Capacity"/> distinct
/// names a new one is used as it is, and the pool never grows without limit.
/// </summary>
internal static class NamePool
{
    public const int Capacity = 65_536;

    private static readonly ConcurrentDictionary<string, string> Names = new(StringComparer.Ordinal);

    // Looks names up by span, so a name already pooled costs no string at all.
    private static readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> BySpan =
        Names.GetAlternateLookup<ReadOnlySpan<char>>();

    public static string Share(string name)
    {
        if (Names.TryGetValue(name, out var shared))
        {
            return shared;
        }
        return Names.Count < Capacity ? Names.GetOrAdd(name, name) : name;
    }

    public static string Share(ReadOnlySpan<char> name) =>
        BySpan.TryGetValue(name, out var shared) ? shared : Share(name.ToString());
}
