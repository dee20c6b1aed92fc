using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Felix.Agent.Model;

/// <summary>
/// Shows offending input inside a rejection reason. Reasons end up in log lines and metrics
/// labels' neighbourhood, and the input is attacker-controlled: a newline would forge a log line,
/// a megabyte would flood the journal. So what is echoed is at most <see cref="MaxEchoed"/>
/// characters, single-line and ASCII; plain tokens (ids, addresses, numbers) are shown bare so a
/// reason reads like the input, anything else is quoted with its special characters escaped.
/// </summary>
internal static class Reasons
{
    public const int MaxEchoed = 60;

    public static string Show(string text) => Show(text, quote: false);

    /// <summary>
    /// A JSON value as a reason shows it: strings always quoted (so <c>"4"</c> cannot pass for
    /// the number 4), numbers as written.
    /// </summary>
    public static string Show(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => Show(element.GetString()!, quote: true),
        JsonValueKind.Number => Show(element.GetRawText()),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => "null",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        _ => "nothing",
    };

    private static string Show(string text, bool quote)
    {
        if (!quote && text.Length is > 0 and <= MaxEchoed && text.All(IsPlain))
        {
            return text;
        }
        var shown = new StringBuilder(Math.Min(text.Length, MaxEchoed) + 24).Append('"');
        foreach (var c in text.AsSpan(0, Math.Min(text.Length, MaxEchoed)))
        {
            Escape(shown, c);
        }
        shown.Append('"');
        if (text.Length > MaxEchoed)
        {
            shown.Append(CultureInfo.InvariantCulture, $"... ({text.Length} characters)");
        }
        return shown.ToString();
    }

    /// <summary>A JSON value's type, for "expected X, got Y" reasons.</summary>
    public static string TypeOf(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        _ => "nothing",
    };

    private static bool IsPlain(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or ':' or '/' or '_' or '-';

    private static void Escape(StringBuilder shown, char c)
    {
        switch (c)
        {
            case '"' or '\\':
                shown.Append('\\').Append(c);
                break;
            case '\n':
                shown.Append("\\n");
                break;
            case '\r':
                shown.Append("\\r");
                break;
            case '\t':
                shown.Append("\\t");
                break;
            case < ' ' or '\x7f':
                shown.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
                break;
            case > '\x7f':
                shown.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                break;
            default:
                shown.Append(c);
                break;
        }
    }
}
