using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Felix.Agent.Calculation;
using Felix.Agent.Hosting.Configuration;
using Felix.Agent.Model;
using Felix.Agent.Policy;
using Felix.Dataplane;

namespace Felix.IntegrationTests.Policy;

/// <summary>
/// One generated model: the config, the batches of updates the renderer gets (rendered after
/// each), and the JSON every value was parsed from, which is what a failure prints to reproduce it.
/// </summary>
public sealed record PolicyCase(int Seed, PolicyConfig Config, IReadOnlyList<IReadOnlyList<DataplaneUpdate>> Batches, string Inputs);

/// <summary>Counts over a whole run, shared by the cases generated in parallel.</summary>
public sealed class GeneratorStats
{
    private int _ruleCandidates;
    private int _validRules;

    public int RuleCandidates => _ruleCandidates;

    public int ValidRules => _validRules;

    public ConcurrentDictionary<string, int> Features { get; } = new(StringComparer.Ordinal);

    public void Candidate(bool valid)
    {
        Interlocked.Increment(ref _ruleCandidates);
        if (valid)
        {
            Interlocked.Increment(ref _validRules);
        }
    }

    public void Saw(string feature) => Features.AddOrUpdate(feature, 1, (_, n) => n + 1);
}

/// <summary>
/// Random models as the calculation would hand them to the dataplane: profiles with random rules
/// (or missing), local endpoints (active or not, 0-3 IPv4 and 0-2 IPv6 addresses, with or without
/// a MAC, 1-3 profiles), pools with and without masquerade, and a random config, sometimes with a
/// dispatch tree threshold of 2-4 under 5-40 endpoints. Every value is written as etcd JSON and
/// read back through <see cref="ValueParser"/>; a second batch sometimes removes and changes
/// things, as later updates do. The same seed always gives the same case.
/// </summary>
public sealed class RandomPolicyModel
{
    public static readonly IReadOnlyList<string> RequiredModelFeatures =
    [
        "endpoint:inactive", "endpoint:no-mac", "endpoint:mac", "endpoint:no-ipv4", "endpoint:3-ipv4", "endpoint:2-ipv6",
        "endpoint:3-profiles", "endpoint:shared-interface", "profile:missing", "profile:hashed-id", "tag:hashed",
        "pool:masquerade", "pool:plain", "pool:ipv6", "config:metadata-none", "config:metadata-ipv6", "config:prefix-other",
        "config:to-host-drop", "config:to-host-accept", "config:to-host-return", "config:small-tree-threshold", "batch:second",
    ];

    private readonly Random _random;
    private readonly GeneratorStats _stats;
    private readonly string _prefix;
    private readonly ModelOptions _options;
    private readonly RandomRules _rules;
    private readonly StringBuilder _inputs = new();
    private readonly Dictionary<WorkloadEndpointKey, EndpointUpdate> _endpoints = [];
    private readonly HashSet<string> _profiles = new(StringComparer.Ordinal);
    private readonly List<string> _profilePool;
    private readonly List<string> _interfaces = [];
    private readonly List<IpPoolKey> _pools = [];
    private int _workloads;

    private RandomPolicyModel(int seed, GeneratorStats stats)
    {
        _random = new Random(seed);
        _stats = stats;
        _prefix = Chance(0.8) ? "cali" : Pick("tap", "veth", "c");
        _options = new ModelOptions(_prefix);
        var tags = Enumerable.Range(0, _random.Next(1, 6)).Select(_ => RandomRules.Id(_random)).Distinct().ToList();
        _rules = new RandomRules(_random, tags);
        _profilePool = [.. Enumerable.Range(0, _random.Next(1, 7)).Select(_ => RandomRules.Id(_random)).Distinct()];
        foreach (var tag in tags.Where(t => PolicyNames.Id(t) != t))
        {
            _stats.Saw("tag:hashed");
        }
    }

    public static PolicyCase Generate(int seed, GeneratorStats stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        var model = new RandomPolicyModel(seed, stats);
        var config = model.Config();
        var batches = new List<IReadOnlyList<DataplaneUpdate>> { model.FirstBatch(config) };
        if (model.Chance(0.3))
        {
            stats.Saw("batch:second");
            batches.Add(model.SecondBatch());
        }
        return new PolicyCase(seed, config, batches, model._inputs.ToString());
    }

    private PolicyConfig Config()
    {
        var mask = _random.Next(5) switch
        {
            0 => 0x1000000u,
            1 => 0xff000000u,
            2 => 0x1u,
            3 => 0x80000000u,
            _ => (uint)_random.NextInt64(1, 1L << 32),
        };
        var metadata = Pick<string?>(null, "127.0.0.1", "169.254.169.254", "::1", "fd00::254");
        var config = new PolicyConfig(_prefix, mask)
        {
            EndpointToHostAction = Pick(EndpointToHostAction.Drop, EndpointToHostAction.Accept, EndpointToHostAction.Return),
            MetadataAddress = metadata is null ? null : IPAddress.Parse(metadata),
            MetadataPort = _random.Next(1, 65536),
            DispatchTreeThreshold = Chance(0.4) ? _random.Next(2, 5) : PolicyConfig.DefaultDispatchTreeThreshold,
        };
        _stats.Saw(metadata is null ? "config:metadata-none" : metadata.Contains(':', StringComparison.Ordinal) ? "config:metadata-ipv6" : "config:metadata-ipv4");
        _stats.Saw($"config:to-host-{config.EndpointToHostAction.ToString().ToLowerInvariant()}");
        _stats.Saw(_prefix == "cali" ? "config:prefix-cali" : "config:prefix-other");
        _stats.Saw(config.DispatchTreeThreshold < 5 ? "config:small-tree-threshold" : "config:default-tree-threshold");
        _inputs.Append(CultureInfo.InvariantCulture,
            $"config: prefix {_prefix}, mark mask 0x{mask:x}, to-host {config.EndpointToHostAction}, metadata {metadata ?? "none"}:{config.MetadataPort}, tree threshold {config.DispatchTreeThreshold}\n");
        return config;
    }

    private List<DataplaneUpdate> FirstBatch(PolicyConfig config)
    {
        _inputs.Append("batch 1\n");
        var count = config.DispatchTreeThreshold < 5 && Chance(0.8) ? _random.Next(5, 41) : _random.Next(0, 7);
        var endpoints = Enumerable.Range(0, count).Select(_ => NewEndpoint(count > 6)).ToList();
        var updates = new List<DataplaneUpdate>();
        updates.AddRange(ProfileUpdates(endpoints.SelectMany(e => e.ProfileIds).Distinct(StringComparer.Ordinal)));
        updates.AddRange(endpoints);
        for (var i = _random.Next(0, 4); i > 0; i--)
        {
            updates.Add(Pool(IpVersion.V4));
        }
        for (var i = _random.Next(0, 3); i > 0; i--)
        {
            updates.Add(Pool(IpVersion.V6));
        }
        return updates;
    }

    /// <summary>Removes, changes and adds endpoints, profiles and pools the way later updates do.</summary>
    private List<DataplaneUpdate> SecondBatch()
    {
        _inputs.Append("batch 2\n");
        var updates = new List<DataplaneUpdate>();
        foreach (var key in _endpoints.Keys.ToList())
        {
            if (Chance(0.3))
            {
                _endpoints.Remove(key);
                _inputs.Append(CultureInfo.InvariantCulture, $"remove endpoint {key.Path}\n");
                updates.Add(new EndpointRemove(key));
            }
            else if (Chance(0.2))
            {
                updates.Add(Endpoint(key, _endpoints[key].InterfaceName));
            }
        }
        updates.AddRange(Enumerable.Range(0, _random.Next(0, 3)).Select(_ => NewEndpoint(manyEndpoints: false)));
        var used = _endpoints.Values.SelectMany(e => e.ProfileIds).ToHashSet(StringComparer.Ordinal);
        var changed = used.Where(id => !_profiles.Contains(id) || Chance(0.25)).Order(StringComparer.Ordinal).ToList();
        updates.InsertRange(0, ProfileUpdates(changed));
        foreach (var id in _profiles.Where(id => !used.Contains(id)).Order(StringComparer.Ordinal).ToList())
        {
            _profiles.Remove(id);
            _inputs.Append(CultureInfo.InvariantCulture, $"remove profile {id}\n");
            updates.Add(new ProfileRemove(id));
        }
        foreach (var pool in _pools.Where(_ => Chance(0.3)).ToList())
        {
            _pools.Remove(pool);
            _inputs.Append(CultureInfo.InvariantCulture, $"remove pool {pool.Path}\n");
            updates.Add(new PoolRemove(pool));
        }
        return updates;
    }

    private IEnumerable<DataplaneUpdate> ProfileUpdates(IEnumerable<string> ids)
    {
        foreach (var id in ids)
        {
            _profiles.Add(id);
            if (PolicyNames.Id(id) != id)
            {
                _stats.Saw("profile:hashed-id");
            }
            if (Chance(0.15))
            {
                _stats.Saw("profile:missing");
                _inputs.Append(CultureInfo.InvariantCulture, $"profile {id}: missing\n");
                yield return new ProfileUpdate(id, null);
                continue;
            }
            var json = new StringBuilder("{");
            json.Append(CultureInfo.InvariantCulture, $"\"inbound_rules\":[{string.Join(',', Rules(id))}]");
            if (Chance(0.9))
            {
                json.Append(CultureInfo.InvariantCulture, $",\"outbound_rules\":[{string.Join(',', Rules(id))}]");
            }
            var text = json.Append('}').ToString();
            _inputs.Append(CultureInfo.InvariantCulture, $"profile {id}: {text}\n");
            yield return new ProfileUpdate(id, PolicyScripts.Parse<ProfileRules>(new ProfileRulesKey(id), text, _options));
        }
    }

    /// <summary>0-8 rules, each a candidate the parser accepted on its own.</summary>
    private IEnumerable<string> Rules(string profileId)
    {
        var key = new ProfileRulesKey(profileId);
        for (var count = _random.Next(0, 9); count > 0; count--)
        {
            for (var attempt = 1; ; attempt++)
            {
                var candidate = _rules.Candidate();
                var json = candidate.ToJsonString();
                var valid = PolicyScripts.TryParse<ProfileRules>(key, $"{{\"inbound_rules\":[{json}]}}", _options, out _) is not null;
                _stats.Candidate(valid);
                if (valid)
                {
                    RandomRules.CountFeatures(candidate, _stats.Features);
                    yield return json;
                    break;
                }
                if (attempt == 1000)
                {
                    throw new InvalidOperationException("1000 rule candidates in a row were invalid: the generator is broken");
                }
            }
        }
    }

    private EndpointUpdate NewEndpoint(bool manyEndpoints)
    {
        var n = ++_workloads;
        var key = new WorkloadEndpointKey("node1", "k8s", $"wl{n}", "eth0");
        string name;
        if (_interfaces.Count > 0 && Chance(0.04))
        {
            // Two endpoints claiming one interface: the renderer must still give it exactly one owner.
            name = Pick(_interfaces.ToArray());
            _stats.Saw("endpoint:shared-interface");
        }
        else
        {
            // Under a dispatch tree, short suffixes of few characters share prefixes and are
            // prefixes of each other (cali1, cali10, cali103), which is what makes it branch.
            var maxSuffix = 15 - _prefix.Length;
            name = _prefix + (manyEndpoints
                ? RandomRules.Text(_random, "0123", _random.Next(1, 4))
                : RandomRules.Text(_random, "0123456789abcdef", _random.Next(1, maxSuffix + 1)));
            _interfaces.Add(name);
        }
        return Endpoint(key, name);
    }

    private EndpointUpdate Endpoint(WorkloadEndpointKey key, string interfaceName)
    {
        var json = new JsonObject
        {
            ["state"] = Chance(0.8) ? "active" : "inactive",
            ["name"] = interfaceName,
        };
        if (Chance(0.6))
        {
            json["mac"] = string.Join(':', Enumerable.Range(0, 6).Select(_ => _random.Next(256).ToString("X2", CultureInfo.InvariantCulture)));
        }
        var profiles = Enumerable.Range(0, _random.Next(1, 4)).Select(_ => Pick(_profilePool.ToArray())).ToList();
        if (profiles.Count == 1 && Chance(0.2))
        {
            json["profile_id"] = profiles[0];
        }
        else
        {
            json["profile_ids"] = new JsonArray([.. profiles.Select(p => JsonValue.Create(p))]);
        }
        json["ipv4_nets"] = Addresses(_random.Next(0, 4), v6: false);
        json["ipv6_nets"] = Addresses(_random.Next(0, 3), v6: true);
        if (Chance(0.3))
        {
            json["ipv4_gateway"] = "169.254.1.1";
            json["ipv6_gateway"] = "fe80::1";
        }
        var text = json.ToJsonString();
        _inputs.Append(CultureInfo.InvariantCulture, $"endpoint {key.Path}: {text}\n");
        var endpoint = PolicyScripts.ToUpdate(key, PolicyScripts.Parse<WorkloadEndpoint>(key, text, _options));
        _endpoints[key] = endpoint;
        _stats.Saw(endpoint.State == EndpointState.Inactive ? "endpoint:inactive" : "endpoint:active");
        _stats.Saw(endpoint.Mac is null ? "endpoint:no-mac" : "endpoint:mac");
        _stats.Saw(endpoint.Ipv4Nets.Count == 0 ? "endpoint:no-ipv4" : $"endpoint:{endpoint.Ipv4Nets.Count}-ipv4");
        _stats.Saw($"endpoint:{endpoint.Ipv6Nets.Count}-ipv6");
        _stats.Saw($"endpoint:{endpoint.ProfileIds.Count}-profiles");
        return endpoint;
    }

    private JsonArray Addresses(int count, bool v6)
    {
        var addresses = new JsonArray();
        for (var i = 0; i < count; i++)
        {
            var bytes = new byte[v6 ? 16 : 4];
            _random.NextBytes(bytes);
            addresses.Add(JsonValue.Create($"{new IPAddress(bytes)}/{(v6 ? 128 : 32)}"));
        }
        return addresses;
    }

    private PoolUpdate Pool(IpVersion version)
    {
        var bytes = new byte[version == IpVersion.V6 ? 16 : 4];
        _random.NextBytes(bytes);
        var prefix = version == IpVersion.V6 ? _random.Next(48, 121) : _random.Next(8, 29);
        var cidr = new IPNetwork(Masked(bytes, prefix), prefix);
        var json = new JsonObject { ["cidr"] = cidr.ToString() };
        if (Chance(0.8))
        {
            json["masquerade"] = Chance(0.5);
        }
        var key = new IpPoolKey(version, cidr);
        _pools.Add(key);
        var text = json.ToJsonString();
        _inputs.Append(CultureInfo.InvariantCulture, $"pool {key.Path}: {text}\n");
        var pool = PolicyScripts.Parse<IpPool>(key, text, _options);
        _stats.Saw(pool.Masquerade ? "pool:masquerade" : "pool:plain");
        _stats.Saw(version == IpVersion.V6 ? "pool:ipv6" : "pool:ipv4");
        return new PoolUpdate(key, pool);
    }

    private static IPAddress Masked(byte[] bytes, int prefix)
    {
        var masked = (byte[])bytes.Clone();
        for (var i = 0; i < masked.Length; i++)
        {
            masked[i] &= (byte)(0xff << (8 - Math.Clamp(prefix - (i * 8), 0, 8)));
        }
        return new IPAddress(masked);
    }

    private bool Chance(double odds) => _random.NextDouble() < odds;

    private T Pick<T>(params T[] options) => options[_random.Next(options.Length)];
}
