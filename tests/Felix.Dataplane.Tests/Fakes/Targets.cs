namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// The targets a rule may name besides a chain of its table. A name in neither list nor the table is
/// refused the way both tools refuse an unknown jump, so a typo or a jump to a chain not yet created
/// fails as it would on a host.
/// </summary>
internal static class Targets
{
    private static readonly HashSet<string> Standard = new(StringComparer.Ordinal) { "ACCEPT", "DROP", "RETURN", "QUEUE" };

    private static readonly HashSet<string> Extensions = new(StringComparer.Ordinal)
    {
        "AUDIT", "CHECKSUM", "CLASSIFY", "CONNMARK", "CT", "DNAT", "DSCP", "HL", "LOG", "MARK", "MASQUERADE",
        "NETMAP", "NFLOG", "NFQUEUE", "NOTRACK", "REDIRECT", "REJECT", "SET", "SNAT", "TCPMSS", "TEE", "TOS",
        "TPROXY", "TRACE", "TTL",
    };

    /// <summary>
    /// The one table each of these targets is allowed in, as both kernels enforce it (checked per
    /// table in a namespace). TRACE is raw-only under legacy; nft allows it anywhere.
    /// </summary>
    private static readonly Dictionary<string, string> OnlyIn = new(StringComparer.Ordinal)
    {
        ["MASQUERADE"] = "nat",
        ["SNAT"] = "nat",
        ["DNAT"] = "nat",
        ["REDIRECT"] = "nat",
        ["NETMAP"] = "nat",
        ["CT"] = "raw",
        ["NOTRACK"] = "raw",
        ["TRACE"] = "raw",
        ["CHECKSUM"] = "mangle",
        ["TPROXY"] = "mangle",
        ["DSCP"] = "mangle",
        ["TOS"] = "mangle",
        ["TTL"] = "mangle",
        ["HL"] = "mangle",
        ["REJECT"] = "filter",
    };

    /// <summary>Whether the target takes options of its own; standard targets and chains take none.</summary>
    public static bool HasOptions(string target) => Extensions.Contains(target);

    public static bool IsKnown(string target) => Standard.Contains(target) || Extensions.Contains(target);

    public static bool AllowedIn(string target, string table, bool nft) =>
        !OnlyIn.TryGetValue(target, out var only) || only == table || (nft && target == "TRACE");

    /// <summary>nft has no QUEUE (the kernel refuses the rule); legacy still loads it.</summary>
    public static bool NftRefuses(string target) => target == "QUEUE";
}
