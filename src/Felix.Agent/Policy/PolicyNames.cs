using System.Security.Cryptography;
using System.Text;

namespace Felix.Agent.Policy;

public enum PolicyDirection
{
    /// <summary>Towards the workload: a profile's inbound rules, the <c>to</c> chains.</summary>
    Inbound,

    /// <summary>From the workload: a profile's outbound rules, the <c>from</c> chains.</summary>
    Outbound,
}

/// <summary>
/// The names of everything the agent creates (DESIGN.md §3). Ids are used verbatim when they fit
/// and could not be mistaken for a hashed one; otherwise they become <c>_</c> and 15 hex characters
/// of their SHA-256. Verbatim ids never start with <c>_</c>, so a hashed name cannot collide with a
/// verbatim one, and 60 bits of hash make collisions between hashed ones vanishingly rare.
/// </summary>
public static class PolicyNames
{
    public const string Prefix = "felix-";
    public const string ForwardChain = "felix-FORWARD";
    public const string InputChain = "felix-INPUT";
    public const string OutputChain = "felix-OUTPUT";
    public const string PostroutingChain = "felix-POSTROUTING";
    public const string ToEndpointDispatch = "felix-TO-ENDPOINT";
    public const string FromEndpointDispatch = "felix-FROM-ENDPOINT";

    /// <summary>Longest id used verbatim: keeps <c>felix-p-&lt;id&gt;-i</c> within 28 characters.</summary>
    public const int MaxVerbatimIdLength = 16;

    private const int HashedIdHexLength = 15;

    public static string Id(string id)
    {
        if (id.Length <= MaxVerbatimIdLength && !id.StartsWith('_'))
        {
            return id;
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)));
        return "_" + hash[..HashedIdHexLength];
    }

    public static string ProfileChain(string profileId, PolicyDirection direction) =>
        $"felix-p-{Id(profileId)}-{(direction == PolicyDirection.Inbound ? 'i' : 'o')}";

    public static string TagSet(string tag, IpVersion version) => $"felix-v{(int)version}-{Id(tag)}";

    /// <summary>
    /// The pool sets. The IPv6 names end in <c>-v6</c> rather than starting <c>felix-v6-</c>,
    /// which would collide with the set of a tag called <c>all-ipam-pools</c>.
    /// </summary>
    public static string AllPoolsSet(IpVersion version) =>
        version == IpVersion.V4 ? "felix-all-ipam-pools" : "felix-all-ipam-pools-v6";

    public static string MasqueradePoolsSet(IpVersion version) =>
        version == IpVersion.V4 ? "felix-masq-ipam-pools" : "felix-masq-ipam-pools-v6";

    /// <summary>The interface name without the interface prefix: <c>cali2466cece7bc</c> → <c>2466cece7bc</c>.</summary>
    public static string EndpointSuffix(string interfaceName, string interfacePrefix) =>
        interfaceName.StartsWith(interfacePrefix, StringComparison.Ordinal) && interfaceName.Length > interfacePrefix.Length
            ? interfaceName[interfacePrefix.Length..]
            : throw new ArgumentException(
                $"interface '{interfaceName}' does not start with the prefix '{interfacePrefix}'", nameof(interfaceName));

    public static string EndpointChain(string suffix, PolicyDirection direction) =>
        direction == PolicyDirection.Inbound ? $"felix-to-{suffix}" : $"felix-from-{suffix}";

    public static string DispatchChain(PolicyDirection direction) =>
        direction == PolicyDirection.Inbound ? ToEndpointDispatch : FromEndpointDispatch;

    /// <summary>
    /// A branch of a dispatch tree, for the interfaces whose suffix starts with
    /// <paramref name="suffixPrefix"/> (all branches of the tree when it is empty). Upper case, so it
    /// cannot collide with an endpoint chain.
    /// </summary>
    public static string DispatchBranchChain(string suffixPrefix, PolicyDirection direction) =>
        direction == PolicyDirection.Inbound ? $"felix-TO-EP-{suffixPrefix}" : $"felix-FROM-EP-{suffixPrefix}";
}
