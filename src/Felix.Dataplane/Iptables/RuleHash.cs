using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Felix.Dataplane.Iptables;

/// <summary>
/// Each rule the agent writes carries <c>-m comment --comment "felix:&lt;hash&gt;"</c>, 16 URL-safe
/// base64 characters of the SHA-256 of the rule's body. Read-back compares these hashes instead of
/// parsing rules: <c>iptables-save</c> prints a rule differently from how it was written (nft
/// reorders matches, expands defaults), but it always prints the comment as given. A rule without
/// one of our hashes in a chain we own was put there by someone else.
/// </summary>
public static partial class RuleHash
{
    public const string CommentPrefix = "felix:";

    public const int Length = 16;

    public static string Of(string body)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(body), digest);
        return Convert.ToBase64String(digest).Replace('+', '-').Replace('/', '_')[..Length];
    }

    /// <summary>The hash in a rule as <c>iptables-save</c> printed it, or null for a rule that is not ours.</summary>
    public static string? Find(string savedRule)
    {
        var match = HashComment().Match(savedRule);
        return match.Success ? match.Groups[1].Value : null;
    }

    [GeneratedRegex(@"--comment ""?felix:([A-Za-z0-9_-]{16})""?(?: |\z)")]
    private static partial Regex HashComment();
}
