using System.Text;
using System.Text.Json;

namespace Felix.Agent.Tests.Model.Corpus;

/// <summary>
/// Reads bad-inputs.jsonc (its header documents the format) into cases with their bytes expanded,
/// so the corpus file can hold values that cannot be written literally: invalid UTF-8, a megabyte,
/// ten thousand levels of nesting.
/// </summary>
internal static class BadInputCorpus
{
    public sealed record Case(string Name, string Key, byte[]? Value, string Reason)
    {
        public override string ToString() => Name;
    }

    private static readonly Lazy<IReadOnlyDictionary<string, Case>> Loaded = new(Load);

    public static IReadOnlyDictionary<string, Case> Cases => Loaded.Value;

    private static Dictionary<string, Case> Load()
    {
        using var stream = typeof(BadInputCorpus).Assembly.GetManifestResourceStream("bad-inputs.jsonc")
            ?? throw new InvalidOperationException("bad-inputs.jsonc is not embedded in the test assembly");
        using var document = JsonDocument.Parse(
            stream, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var cases = new Dictionary<string, Case>(StringComparer.Ordinal);
        foreach (var item in document.RootElement.GetProperty("cases").EnumerateArray())
        {
            var name = item.GetProperty("name").GetString()!;
            var @case = new Case(name, item.GetProperty("key").GetString()!, ValueOf(item), item.GetProperty("reason").GetString()!);
            if (!cases.TryAdd(name, @case))
            {
                throw new InvalidOperationException($"corpus case name '{name}' is used twice");
            }
        }
        return cases;
    }

    private static byte[]? ValueOf(JsonElement item)
    {
        var forms = item.EnumerateObject().Where(p => p.Name is "value" or "text" or "base64" or "repeat" or "nest").ToList();
        if (forms.Count > 1)
        {
            throw new InvalidOperationException($"corpus case {item.GetProperty("name")} has more than one value form");
        }
        if (forms.Count == 0)
        {
            return null;
        }
        var form = forms[0].Value;
        return forms[0].Name switch
        {
            "value" => Encoding.UTF8.GetBytes(form.GetRawText()),
            "text" => Encoding.UTF8.GetBytes(form.GetString()!),
            "base64" => Convert.FromBase64String(form.GetString()!),
            "repeat" => Encoding.UTF8.GetBytes(
                Optional(form, "prefix")
                + new StringBuilder().Insert(0, form.GetProperty("text").GetString()!, form.GetProperty("count").GetInt32())
                + Optional(form, "suffix")),
            _ => Encoding.UTF8.GetBytes(
                new StringBuilder().Insert(0, form.GetProperty("open").GetString()!, form.GetProperty("depth").GetInt32())
                + Optional(form, "inner")
                + new StringBuilder().Insert(0, form.GetProperty("close").GetString()!, form.GetProperty("depth").GetInt32())),
        };
    }

    private static string Optional(JsonElement form, string name) =>
        form.TryGetProperty(name, out var value) ? value.GetString()! : "";
}
