namespace Felix.Agent.Model;

/// <summary>
/// The patterns that names taken from the datastore must match before any other code sees them.
/// Ids and interface names end up verbatim in chain names, ipset names and command lines, so
/// each check here is an allow-list of characters plus a length bound, never a deny-list.
/// Each method returns null when the text is valid, otherwise the end of a reason sentence that
/// starts with the offending text.
/// </summary>
internal static class Syntax
{
    /// <summary>A DNS name's maximum length: hostnames are ids too, and nothing real is longer.</summary>
    public const int MaxIdLength = 253;

    /// <summary>IFNAMSIZ (16) less the terminating NUL.</summary>
    public const int MaxInterfaceNameLength = 15;

    private const string IdRule = "is not a valid id (letters, digits, '_', '.', '-'; 1-253 characters)";

    public static string? IdProblem(string text) => IsId(text) ? null : IdRule;

    public static bool IsId(ReadOnlySpan<char> text)
    {
        if (text.Length is 0 or > MaxIdLength)
        {
            return false;
        }
        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '.' or '-'))
            {
                return false;
            }
        }
        return true;
    }

    public static string? InterfaceNameProblem(string text, string prefix)
    {
        if (!text.StartsWith(prefix, StringComparison.Ordinal) || text.Length == prefix.Length)
        {
            return $"does not start with the interface prefix {Reasons.Show(prefix)} followed by a suffix";
        }
        if (text.Length > MaxInterfaceNameLength)
        {
            return $"is longer than {MaxInterfaceNameLength} characters, the kernel's limit for interface names";
        }
        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-'))
            {
                return "is not a valid interface name (letters, digits, '_', '-')";
            }
        }
        return null;
    }

    /// <summary>Six pairs of hex digits separated by ':'; returned lowercase, the form iptables prints.</summary>
    public static string? ParseMac(string text)
    {
        if (text.Length != 17)
        {
            return null;
        }
        for (var i = 0; i < text.Length; i++)
        {
            var valid = i % 3 == 2 ? text[i] == ':' : char.IsAsciiHexDigit(text[i]);
            if (!valid)
            {
                return null;
            }
        }
        return text.ToLowerInvariant();
    }
}
