using System.Text.Json;

namespace Felix.Agent.Model;

/// <summary>
/// The gate between raw bytes and <see cref="JsonDocument"/>: one pass with
/// <see cref="Utf8JsonReader"/> that refuses malformed JSON, nesting deeper than
/// <see cref="MaxDepth"/> and string escapes that do not decode (a lone <c>\ud800</c>, which
/// would otherwise throw later, whenever a parser reads that string). Its reasons are built from
/// positions, not from exception messages, which the Native AOT build strips to resource keys.
/// </summary>
internal static class JsonInput
{
    /// <summary>
    /// The deepest nesting accepted. The deepest real value, a profile, nests four levels
    /// (object, rule list, rule, port list); 32 leaves room for additions and stops a 10,000-deep
    /// value after 32 levels instead of letting it cost stack and memory.
    /// </summary>
    public const int MaxDepth = 32;

    /// <summary>Returns the document (the caller disposes it), or null and the reason.</summary>
    public static JsonDocument? Parse(ReadOnlySpan<byte> utf8, out string? reason)
    {
        // The reader's own limit is one deeper than ours, so that it is this loop, with its
        // clear reason, that meets an over-deep value first.
        var options = new JsonReaderOptions { MaxDepth = MaxDepth + 1 };
        reason = Check(utf8, options);
        if (reason is not null)
        {
            return null;
        }
        var reader = new Utf8JsonReader(utf8, options);
        return JsonDocument.ParseValue(ref reader);
    }

    private static string? Check(ReadOnlySpan<byte> utf8, JsonReaderOptions options)
    {
        if (utf8.Trim(" \t\r\n"u8).IsEmpty)
        {
            return "value is empty, not JSON";
        }
        var reader = new Utf8JsonReader(utf8, options);
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray when reader.CurrentDepth >= MaxDepth:
                        return $"value is nested deeper than {MaxDepth} levels (byte {reader.TokenStartIndex})";
                    case JsonTokenType.String or JsonTokenType.PropertyName when reader.ValueIsEscaped:
                        if (!Decodes(ref reader))
                        {
                            return $"value has a string escape that is not valid UTF-16 (byte {reader.TokenStartIndex})";
                        }
                        break;
                }
            }
            return null;
        }
        catch (JsonException error)
        {
            return $"value is not valid JSON (line {error.LineNumber + 1}, byte {error.BytePositionInLine + 1} of the line)";
        }
    }

    private static bool Decodes(ref Utf8JsonReader reader)
    {
        try
        {
            reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
