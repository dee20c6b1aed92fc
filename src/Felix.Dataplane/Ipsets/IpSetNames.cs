using System.Security.Cryptography;
using System.Text;

namespace Felix.Dataplane.Ipsets;

/// <summary>
/// Which sets are ours (<c>felix-…</c>) and the name of the temporary set a rewrite builds before
/// swapping it in (<c>felix-tmp-…</c>, never referenced by a rule, so always safe to destroy).
/// </summary>
public static class IpSetNames
{
    public const string OwnedPrefix = "felix-";

    public const string TemporaryPrefix = "felix-tmp-";

    private const int MaxLength = 31;

    public static bool IsOwned(string name) => name.StartsWith(OwnedPrefix, StringComparison.Ordinal);

    public static bool IsTemporary(string name) => name.StartsWith(TemporaryPrefix, StringComparison.Ordinal);

    /// <summary>
    /// <c>felix-v4-db</c> → <c>felix-tmp-v4-db</c>; a name too long for that gets the first 21 hex
    /// characters of its SHA-256 instead, so two sets never share a temporary name.
    /// </summary>
    public static string Temporary(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var readable = TemporaryPrefix + (IsOwned(name) ? name[OwnedPrefix.Length..] : name);
        if (readable.Length <= MaxLength)
        {
            return readable;
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)));
        return TemporaryPrefix + hash[..(MaxLength - TemporaryPrefix.Length)];
    }
}
