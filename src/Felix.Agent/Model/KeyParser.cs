namespace Felix.Agent.Model;

/// <summary>What <see cref="KeyParser.Parse"/> made of an etcd key.</summary>
public abstract record KeyParseResult
{
    private protected KeyParseResult()
    {
    }
}

public sealed record KnownKey(DatastoreKey Key) : KeyParseResult;

/// <summary>Not a key the agent acts on (another component's, a newer layout's): ignore it.</summary>
public sealed record UnknownKey : KeyParseResult
{
    public static UnknownKey Instance { get; } = new();
}

/// <summary>
/// A key of a layout the agent acts on whose id, hostname or network is invalid. It must be
/// reported (it may hide a value the operator expects to be applied) and otherwise treated as absent.
/// </summary>
public sealed record InvalidKey(string Kind, string Reason) : KeyParseResult;

/// <summary>
/// Recognises the key paths of DESIGN.md §2. The layout (segment count and fixed segments) decides
/// whether a key is ours; only then are the variable segments checked, so a malformed id in a
/// key of ours is reported rather than silently ignored. Keys elsewhere under <c>/calico/</c>
/// (the agent's own status keys, IPAM assignments, layouts of other versions) are unknown.
/// </summary>
public static class KeyParser
{
    private const string Root = "/calico/v1/";

    public static KeyParseResult Parse(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!path.StartsWith(Root, StringComparison.Ordinal))
        {
            return UnknownKey.Instance;
        }
        if (TryEndpoint(path) is { } endpoint)
        {
            return endpoint;
        }
        var s = path[Root.Length..].Split('/');
        return (s.Length, s[0]) switch
        {
            (1, "Ready") => new KnownKey(new ReadyKey()),
            (2, "config") => Checked(new GlobalConfigKey(s[1]), ("config name", s[1])),
            (4, "host") when s[2] == "config" =>
                Checked(new HostConfigKey(s[1], s[3]), ("hostname", s[1]), ("config name", s[3])),
            (3, "host") when s[2] == "bird_ip" => Checked(new HostIpKey(NamePool.Share(s[1])), ("hostname", s[1])),
            // Only endpoint keys TryEndpoint refused come here, to be told what is wrong with them.
            (7, "host") when s[2] == "workload" && s[5] == "endpoint" => Checked(
                new WorkloadEndpointKey(s[1], s[3], s[4], s[6]),
                ("hostname", s[1]),
                ("orchestrator id", s[3]),
                ("workload id", s[4]),
                ("endpoint id", s[6])),
            (4, "policy") when s[1] == "profile" && s[3] == "rules" =>
                Checked(new ProfileRulesKey(s[2]), ("profile id", s[2])),
            (4, "policy") when s[1] == "profile" && s[3] == "tags" =>
                Checked(new ProfileTagsKey(s[2]), ("profile id", s[2])),
            (4, "ipam") when s[1] == "v4" && s[2] == "pool" => Pool(IpVersion.V4, s[3]),
            (4, "ipam") when s[1] == "v6" && s[2] == "pool" => Pool(IpVersion.V6, s[3]),
            _ => UnknownKey.Instance,
        };
    }

    /// <summary>
    /// The endpoint keys, nearly all of a cluster's, read in place: only the workload id becomes a
    /// new string (the other parts are shared through <see cref="NamePool"/>), where splitting made
    /// nine. Null for anything but a valid endpoint key, which the general path then reads, so
    /// what is invalid and why is decided there alone.
    /// </summary>
    private static KnownKey? TryEndpoint(string path)
    {
        var rest = path.AsSpan(Root.Length);
        Span<Range> parts = stackalloc Range[8];
        if (!rest.StartsWith("host/", StringComparison.Ordinal) || rest.Split(parts, '/') != 7
            || !rest[parts[2]].SequenceEqual("workload") || !rest[parts[5]].SequenceEqual("endpoint"))
        {
            return null;
        }
        var hostname = rest[parts[1]];
        var orchestrator = rest[parts[3]];
        var workload = rest[parts[4]];
        var endpoint = rest[parts[6]];
        if (!Syntax.IsId(hostname) || !Syntax.IsId(orchestrator) || !Syntax.IsId(workload) || !Syntax.IsId(endpoint))
        {
            return null;
        }
        return new KnownKey(new WorkloadEndpointKey(
            NamePool.Share(hostname), NamePool.Share(orchestrator), workload.ToString(), NamePool.Share(endpoint), path));
    }

    /// <summary>Hands out <paramref name="key"/> only when every id in it matches the id pattern.</summary>
    private static KeyParseResult Checked(DatastoreKey key, params ReadOnlySpan<(string What, string Text)> parts)
    {
        foreach (var (what, text) in parts)
        {
            if (Syntax.IdProblem(text) is { } problem)
            {
                return new InvalidKey(key.Kind, $"{what}: {Reasons.Show(text)} {problem}");
            }
        }
        return new KnownKey(key);
    }

    /// <summary>
    /// Only the canonical spelling is accepted, so that one pool has exactly one key: two
    /// spellings of one network would otherwise shadow each other, and deleting either would
    /// remove the pool that the other still defines.
    /// </summary>
    private static KeyParseResult Pool(IpVersion version, string text)
    {
        var dash = text.LastIndexOf('-');
        var cidrText = dash < 0 ? text : string.Concat(text.AsSpan(0, dash), "/", text.AsSpan(dash + 1));
        if (!Networks.TryParseNetwork(cidrText, out var cidr, out var hadHostBits) || Networks.FamilyOf(cidr) != version)
        {
            return new InvalidKey(KeyKinds.Pool, $"pool cidr: {Reasons.Show(text)} is not an {Networks.Name(version)} network");
        }
        var canonical = $"{cidr.BaseAddress}-{cidr.PrefixLength}";
        if (hadHostBits)
        {
            return new InvalidKey(
                KeyKinds.Pool, $"pool cidr: {Reasons.Show(text)} has host bits set (the network is {canonical})");
        }
        if (text != canonical)
        {
            return new InvalidKey(
                KeyKinds.Pool, $"pool cidr: {Reasons.Show(text)} is not written canonically (expected {canonical})");
        }
        return new KnownKey(new IpPoolKey(version, cidr));
    }
}
