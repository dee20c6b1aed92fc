namespace Felix.Dataplane.Ipsets;

/// <summary>The set types the agent programs: addresses for tags, networks for the IPAM pools.</summary>
public enum IpSetType
{
    /// <summary><c>hash:ip</c>: single addresses (the members of a tag).</summary>
    HashIp,

    /// <summary><c>hash:net</c>: networks (the IPAM pools).</summary>
    HashNet,
}

internal static class IpSetTypes
{
    public static string ToIpsetName(this IpSetType type) => type switch
    {
        IpSetType.HashIp => "hash:ip",
        IpSetType.HashNet => "hash:net",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public static bool TryParse(string text, out IpSetType type)
    {
        (var known, type) = text switch
        {
            "hash:ip" => (true, IpSetType.HashIp),
            "hash:net" => (true, IpSetType.HashNet),
            _ => (false, default),
        };
        return known;
    }

    public static string ToFamilyName(this IpVersion family) => family == IpVersion.V6 ? "inet6" : "inet";
}
