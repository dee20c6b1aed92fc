using System.Text.Json;

namespace Felix.Agent.Model;

/// <summary>
/// Lists of ids (an endpoint's profiles, a profile's tags), and the profile tags value itself.
/// Each id becomes part of a chain or ipset name, so each is checked against the id pattern.
/// </summary>
internal static class IdLists
{
    public static string? Read(JsonElement element, string path, out EquatableList<string> ids)
    {
        ids = [];
        if (element.ValueKind != JsonValueKind.Array)
        {
            return $"{path}: expected a list of ids, got {Reasons.TypeOf(element)}";
        }
        var found = new List<string>();
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return $"{path}[{found.Count}]: expected a string, got {Reasons.TypeOf(item)}";
            }
            var id = item.GetString()!;
            if (Syntax.IdProblem(id) is { } problem)
            {
                return $"{path}[{found.Count}]: {Reasons.Show(id)} {problem}";
            }
            found.Add(id);
        }
        ids = EquatableList.From(found);
        return null;
    }

    /// <summary>The value of a profile's <c>tags</c> key: a bare list of tags.</summary>
    public static ValueParseResult ParseTags(JsonElement root) =>
        Read(root, "tags", out var tags) is { } error ? new InvalidValue(error) : new ValidValue(new ProfileTags(tags));
}
