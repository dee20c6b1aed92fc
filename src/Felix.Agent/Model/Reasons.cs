using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Felix.Agent.Model;

/// <summary>
/// Shows offending input inside a rejection reason. Reasons end up in log lines, and the input is
/// written by whoever can write to etcd: a newline would forge a log line, a megabyte would flood
/// the journal. So what is echoed is at most <see cref="MaxEchoed"/> characters, escapes
/// included, single-line and ASCII; plain tokens (ids, addresses, numbers) are shown bare so a
/// reason reads like the input, anything else is quoted with its special characters escaped.
/// Public so that whoever logs a reason can show the key it belongs to the same way: an etcd key
/// is input too.
/// </summary>
public static class Reasons
{
    public const int MaxEchoed = 60;

    /// <summary>
    /// <paramref name="text"/> as a log line may show it: bare when it is a plain token, otherwise
    /// quoted and escaped to printable ASCII, and cut so that at most <paramref name="maxChars"/>
    /// characters are shown between the quotes.
    /// </summary>
    public static string Show(string text, int maxChars = MaxEchoed) => Show(text, quote: false, maxChars);

    /// <summary>
    /// A JSON value as a reason shows it: strings always quoted (so <c>"4"</c> cannot pass for
    /// the number 4), numbers as written.
    /// </summary>
    internal static string Show(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => Show(element.GetString()!, quote: true, MaxEchoed),
        JsonValueKind.Number => Show(element.GetRawText()),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => "null",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        _ => "nothing",
    };

    /// <summary>A JSON value's type, for "expected X, got Y" reasons.</summary>
    internal static string TypeOf(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        _ => "nothing",
    };

    private static string Show(string text, bool quote, int maxChars)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegative(maxChars);
        if (!quote && text.Length > 0 && text.Length <= maxChars && text.All(IsPlain))
        {
            return text;
        }
        // The limit is on what is shown, escapes included: escaping can make one character six, and
        // a limit on input characters let 60 non-ASCII ones fill a 360-character reason.
        var shown = new StringBuilder(maxChars + 32).Append('"');
        var cut = false;
        foreach (var c in text)
        {
            var before = shown.Length;
            Escape(shown, c);
            if (shown.Length - 1 > maxChars)
            {
                shown.Length = before;
                cut = true;
                break;
            }
        }
        shown.Append('"');
        if (cut)
        {
            shown.Append(CultureInfo.InvariantCulture, $"... ({text.Length} characters)");
        }
        return shown.ToString();
    }

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
