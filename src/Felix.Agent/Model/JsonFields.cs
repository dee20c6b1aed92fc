using System.Text.Json;

namespace Felix.Agent.Model;

/// <summary>
/// Reading the members of a JSON object the same way in every parser: JSON <c>null</c> counts as
/// absent, a member given twice is an error (JSON leaves duplicates undefined, and two readers
/// picking different copies is how a checked value and a used value come apart), and unknown
/// members are ignored or refused as the caller's object type requires.
/// </summary>
internal static class JsonFields
{
    public static bool IsAbsent(JsonElement element) =>
        element.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null;

    /// <summary>
    /// Puts the value of member <c>names[i]</c> into <c>slots[i]</c> (absent members stay
    /// <see cref="JsonValueKind.Undefined"/>). Returns null, or the reason the object is refused.
    /// </summary>
    public static string? Collect(JsonElement obj, string path, ReadOnlySpan<string> names, Span<JsonElement> slots, bool refuseUnknown)
    {
        foreach (var member in obj.EnumerateObject())
        {
            var index = names.IndexOf(member.Name);
            if (index < 0)
            {
                if (refuseUnknown)
                {
                    return $"{path}: unknown key {Reasons.Show(member.Name)}";
                }
                continue;
            }
            if (slots[index].ValueKind != JsonValueKind.Undefined)
            {
                return $"{Join(path, names[index])}: given more than once";
            }
            slots[index] = member.Value;
        }
        return null;
    }

    /// <summary>A field path for reasons: <c>inbound_rules[2]</c> + <c>dst_ports</c>.</summary>
    public static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    /// <summary>An optional string member; an error names its path and what was expected.</summary>
    public static string? OptionalString(JsonElement element, string path, out string? value)
    {
        value = null;
        if (IsAbsent(element))
        {
            return null;
        }
        if (element.ValueKind != JsonValueKind.String)
        {
            return $"{path}: expected a string, got {Reasons.TypeOf(element)}";
        }
        value = element.GetString()!;
        return null;
    }

    public static string? RequiredString(JsonElement element, string path, out string value)
    {
        if (IsAbsent(element))
        {
            value = "";
            return $"{path}: missing";
        }
        var error = OptionalString(element, path, out var text);
        value = text ?? "";
        return error;
    }

    /// <summary>An optional list member: <paramref name="present"/> says whether to enumerate it.</summary>
    public static string? OptionalArray(JsonElement element, string path, out bool present)
    {
        present = element.ValueKind == JsonValueKind.Array;
        return present || IsAbsent(element) ? null : $"{path}: expected a list, got {Reasons.TypeOf(element)}";
    }
}
