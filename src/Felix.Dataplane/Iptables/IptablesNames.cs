using System.Text.RegularExpressions;

namespace Felix.Dataplane.Iptables;

/// <summary>
/// The checks every name and free text passes before it is put into a rule. They are the last line
/// of defence behind the model's validation: a value that would let restore input say more than the
/// rule meant (a space, a quote, a newline, a leading dash) is refused here with an exception, since
/// reaching this point with one is a bug in the caller, not bad input.
/// </summary>
public static partial class IptablesNames
{
    /// <summary>The kernel's limit (<c>XT_EXTENSION_MAXNAMELEN</c> less the terminating NUL).</summary>
    public const int MaxChainNameLength = 28;

    /// <summary>The kernel's limit (<c>IPSET_MAXNAMELEN</c> less the terminating NUL).</summary>
    public const int MaxIpSetNameLength = 31;

    /// <summary>The comment match's limit (<c>XT_MAX_COMMENT_LEN</c> less the terminating NUL).</summary>
    public const int MaxCommentLength = 255;

    /// <summary>The kernel's interface name limit (<c>IFNAMSIZ</c> less the terminating NUL).</summary>
    public const int MaxInterfaceNameLength = 15;

    public static string Chain(string name) =>
        name.Length <= MaxChainNameLength && ChainPattern().IsMatch(name)
            ? name
            : throw new ArgumentException($"'{name}' is not a valid chain name", nameof(name));

    public static string IpSet(string name) =>
        name.Length <= MaxIpSetNameLength && IpSetPattern().IsMatch(name)
            ? name
            : throw new ArgumentException($"'{name}' is not a valid ipset name", nameof(name));

    /// <summary>
    /// An interface name, or a prefix ending in <c>+</c> (iptables' wildcard); iptables counts the
    /// <c>+</c> against the 15-character limit.
    /// </summary>
    public static string Interface(string name) =>
        name.Length <= MaxInterfaceNameLength && InterfacePattern().IsMatch(name)
            ? name
            : throw new ArgumentException($"'{name}' is not a valid interface name or prefix", nameof(name));

    /// <summary>
    /// A comment or log prefix: printable ASCII without quotes or backslashes, so double quotes
    /// around it are enough, and <c>iptables-save</c> prints it back unescaped (it escapes <c>'</c>).
    /// </summary>
    public static string Text(string text, int maxLength) =>
        text.Length is > 0 && text.Length <= maxLength && TextPattern().IsMatch(text)
            ? text
            : throw new ArgumentException($"'{text}' is not printable ASCII of 1-{maxLength} characters without quotes", nameof(text));

    /// <summary>
    /// Shortens a comment built from ids to the comment match's limit instead of refusing it: the
    /// comment is for the operator reading <c>iptables-save</c>, the rule is the same without its tail.
    /// </summary>
    public static string TruncatedComment(string text) =>
        Text(text.Length <= MaxCommentLength ? text : text[..MaxCommentLength], MaxCommentLength);

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]*\z")]
    private static partial Regex ChainPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.:-]*\z")]
    private static partial Regex IpSetPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]*\+?\z")]
    private static partial Regex InterfacePattern();

    [GeneratedRegex(@"^[\x20-\x21\x23-\x26\x28-\x5b\x5d-\x7e]+\z")]
    private static partial Regex TextPattern();
}
