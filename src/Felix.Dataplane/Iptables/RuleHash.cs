using System.Security.Cryptography;
using System.Text;

namespace Felix.Dataplane.Iptables;

/// <summary>
/// Each rule the agent writes carries <c>-m comment --comment "felix:&lt;hash&gt;"</c>, 16 URL-safe
/// base64 characters of the SHA-256 of the rule's body. Read-back compares these hashes instead of
/// parsing rules: <c>iptables-save</c> prints a rule differently from how it was written (nft
/// reorders matches, expands defaults), but it always prints the comment as given. A rule without
/// one of our hashes in a chain we own was put there by someone else.
/// </summary>
public static class RuleHash
{
    public const string CommentPrefix = "felix:";

    public const int Length = 16;

    public static string Of(string body)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(body), digest);
        return Convert.ToBase64String(digest).Replace('+', '-').Replace('/', '_')[..Length];
    }

    /// <summary>
    /// The hash in a rule as <c>iptables-save</c> printed it, or null for a rule that is not ours:
    /// the first <c>--comment felix:HASH</c>, quoted or not, followed by a space or the end.
    /// </summary>
    public static string? Find(ReadOnlySpan<char> savedRule)
    {
        const string option = "--comment ";
        var rest = savedRule;
        for (var at = rest.IndexOf(option); at >= 0; at = rest.IndexOf(option))
        {
            rest = rest[(at + option.Length)..];
            var value = rest.StartsWith('"') ? rest[1..] : rest;
            if (!value.StartsWith(CommentPrefix) || value.Length < CommentPrefix.Length + Length)
            {
                continue;
            }
            var hash = value.Slice(CommentPrefix.Length, Length);
            var after = value[(CommentPrefix.Length + Length)..];
            if (after.StartsWith('"'))
            {
                after = after[1..];
            }
            if (!hash.ContainsAnyExcept(HashCharacters) && (after.IsEmpty || after[0] == ' '))
            {
                return hash.ToString();
            }
        }
        return null;
    }

    private static readonly System.Buffers.SearchValues<char> HashCharacters =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
}
