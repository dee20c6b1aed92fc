using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Felix.IntegrationTests.Policy;

/// <summary>
/// Random rule JSON in the v1 rule language: every field and every <c>!</c>-form, protocols by name
/// and by number, nets of both families, port lists with ranges and longer than one multiport
/// match, ICMP types and codes, log prefixes. Candidates are not all valid (a port list without a
/// port protocol, a net of the other family, a prefix with a quote): the caller keeps only what
/// the agent's parser accepts, so invalid candidates cost attempts, never test cases.
/// </summary>
public sealed class RandomRules(Random random, IReadOnlyList<string> tags)
{
    private static readonly string[] ProtocolNames = ["tcp", "udp", "icmp", "icmpv6", "sctp", "udplite"];
    private static readonly string[] MatchFields =
        ["protocol", "src_tag", "dst_tag", "src_net", "dst_net", "src_ports", "dst_ports", "icmp_type", "icmp_code"];

    /// <summary>What a run must have produced in valid rules for the property test to mean anything.</summary>
    public static IReadOnlyList<string> RequiredFeatures { get; } =
    [
        "action:allow", "action:deny", "action:log", "action:default", "log_prefix", "ip_version:4", "ip_version:6",
        .. new[] { "", "!" }.SelectMany(not => new[]
        {
            $"{not}protocol:name", $"{not}protocol:number", $"{not}src_tag", $"{not}dst_tag",
            $"{not}src_net:v4", $"{not}src_net:v6", $"{not}dst_net:v4", $"{not}dst_net:v6",
            $"{not}src_ports:range", $"{not}src_ports:long", $"{not}dst_ports:range", $"{not}dst_ports:long",
            $"{not}icmp_type", $"{not}icmp_code",
        }),
    ];

    public JsonObject Candidate()
    {
        var rule = new JsonObject();
        // Most rules keep to one family so that their nets and ICMP protocol agree; a few do not.
        var family = Pick<int?>(null, null, 4, 6);
        AddAction(rule);
        if (Chance(0.3))
        {
            rule["ip_version"] = Chance(0.95) ? family ?? Pick(4, 6) : Pick(4, 6, 5);
        }
        var protocol = Chance(0.55) ? Protocol(family) : null;
        if (protocol is not null)
        {
            rule["protocol"] = protocol;
        }
        if (Chance(0.15))
        {
            rule["!protocol"] = Protocol(family);
        }
        foreach (var not in new[] { "", "!" })
        {
            var odds = not.Length == 0 ? 0.3 : 0.15;
            AddIf(rule, $"{not}src_tag", odds, Tag);
            AddIf(rule, $"{not}dst_tag", odds, Tag);
            AddIf(rule, $"{not}src_net", odds, () => Net(family));
            AddIf(rule, $"{not}dst_net", odds, () => Net(family));
            var ports = HasPorts(protocol) ? odds + 0.2 : 0.02;
            AddIf(rule, $"{not}src_ports", ports, Ports);
            AddIf(rule, $"{not}dst_ports", ports, Ports);
            var icmp = IsIcmp(protocol) ? 0.6 : 0.02;
            if (Chance(icmp))
            {
                rule[$"{not}icmp_type"] = Chance(0.97) ? random.Next(0, 255) : 255;
                AddIf(rule, $"{not}icmp_code", 0.5, () => random.Next(0, 256));
            }
            else if (Chance(0.01))
            {
                rule[$"{not}icmp_code"] = random.Next(0, 256);
            }
        }
        return rule;
    }

    /// <summary>The features of a rule the parser accepted, for <see cref="RequiredFeatures"/>.</summary>
    public static void CountFeatures(JsonObject rule, ConcurrentDictionary<string, int> features)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(features);
        void Add(string feature) => features.AddOrUpdate(feature, 1, (_, n) => n + 1);
        Add($"action:{(rule["action"] is { } action ? action.GetValue<string>() : "default")}");
        if (rule.ContainsKey("log_prefix"))
        {
            Add("log_prefix");
        }
        if (rule["ip_version"] is { } version)
        {
            Add($"ip_version:{version.GetValue<int>()}");
        }
        foreach (var name in MatchFields.Concat(MatchFields.Select(f => "!" + f)))
        {
            var value = rule[name];
            switch (value)
            {
                case null:
                    break;
                case JsonArray ports:
                    if (ports.Any(p => Slots(p) == 2))
                    {
                        Add($"{name}:range");
                    }
                    if (ports.Sum(Slots) > 15)
                    {
                        Add($"{name}:long");
                    }
                    break;
                case JsonValue when name.EndsWith("protocol", StringComparison.Ordinal):
                    Add($"{name}:{(value.GetValueKind() == JsonValueKind.String ? "name" : "number")}");
                    break;
                case JsonValue when name.EndsWith("_net", StringComparison.Ordinal):
                    Add($"{name}:{(value.GetValue<string>().Contains(':', StringComparison.Ordinal) ? "v6" : "v4")}");
                    break;
                default:
                    Add(name);
                    break;
            }
        }
    }

    /// <summary>
    /// An id as tags and profiles use them: mostly short, some with every allowed punctuation
    /// ('.', '-', '_'), some longer than 16 characters or starting with '_' so their names are hashed.
    /// </summary>
    public static string Id(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        string[] common = ["db", "web", "app", "db-users", "frontend", "x", "a.b", "A_B", "0", "9lives"];
        return random.Next(10) switch
        {
            < 4 => common[random.Next(common.Length)],
            < 6 => Text(random, "abcdefghijklmnopqrstuvwxyz0123456789", random.Next(1, 17)),
            < 8 => Text(random, "abXYZ019_.-", random.Next(1, 17)),
            8 => Text(random, "abcdefghijklmnopqrstuvwxyz0123456789-", random.Next(17, 61)),
            _ => "_" + Text(random, "abc123", random.Next(0, 12)),
        };
    }

    public static string Text(Random random, string alphabet, int length)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(alphabet);
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            text.Append(alphabet[random.Next(alphabet.Length)]);
        }
        return text.ToString();
    }

    private void AddAction(JsonObject rule)
    {
        var action = Pick<string?>(null, "allow", "allow", "deny", "log", "log");
        if (action is not null)
        {
            rule["action"] = action;
        }
        if ((action == "log" && Chance(0.7)) || Chance(0.02))
        {
            rule["log_prefix"] = LogPrefix();
        }
    }

    /// <summary>Printable ASCII up to 29 characters, spaces included; now and then too long or with a quote.</summary>
    private string LogPrefix()
    {
        const string printable = " !#$%&()*+,-./0123456789:;<=>?@ABCXYZ[]^_`abcxyz{|}~";
        var prefix = Text(random, printable, random.Next(1, 30));
        return random.Next(40) switch
        {
            0 => prefix + new string('x', 30 - prefix.Length),
            1 => "\"" + prefix[1..],
            _ => prefix,
        };
    }

    private JsonNode Protocol(int? family)
    {
        var name = Pick(ProtocolNames);
        if ((name == "icmp" && family == 6) || (name == "icmpv6" && family == 4))
        {
            name = Chance(0.9) ? "tcp" : name;
        }
        if (Chance(0.3))
        {
            return random.Next(10) switch
            {
                < 6 => random.Next(1, 256),
                6 => name switch { "tcp" => 6, "udp" => 17, "sctp" => 132, "udplite" => 136, "icmp" => 1, _ => 58 },
                _ => Pick(0, 256),
            };
        }
        return name;
    }

    private static bool HasPorts(JsonNode? protocol) => protocol is not null && protocol.GetValueKind() switch
    {
        JsonValueKind.String => protocol.GetValue<string>() is "tcp" or "udp" or "sctp" or "udplite",
        _ => protocol.GetValue<int>() is 6 or 17 or 132 or 136,
    };

    private static bool IsIcmp(JsonNode? protocol) => protocol is not null && protocol.GetValueKind() switch
    {
        JsonValueKind.String => protocol.GetValue<string>() is "icmp" or "icmpv6",
        _ => protocol.GetValue<int>() is 1 or 58,
    };

    private JsonNode Tag() => Chance(0.98) ? Pick(tags.ToArray()) : "bad tag";

    /// <summary>Any prefix length, host bits now and then (the parser clears them), the other family rarely.</summary>
    private JsonNode Net(int? family)
    {
        var v6 = family == 6 || (family is null && Chance(0.5));
        if (family is not null && Chance(0.03))
        {
            v6 = !v6;
        }
        var bytes = new byte[v6 ? 16 : 4];
        random.NextBytes(bytes);
        var address = new System.Net.IPAddress(bytes);
        var max = v6 ? 128 : 32;
        var prefix = random.Next(4) == 0 ? max : random.Next(0, max + 1);
        return Chance(0.1) ? address.ToString() : $"{address}/{prefix.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>1-40 ports: numbers, <c>"N:M"</c> ranges, lone <c>"N"</c> strings, the extremes 0 and 65535.</summary>
    private JsonArray Ports()
    {
        var count = random.Next(10) switch { < 6 => random.Next(1, 4), < 8 => random.Next(4, 16), _ => random.Next(16, 41) };
        var ports = new JsonArray();
        for (var i = 0; i < count; i++)
        {
            var port = random.Next(20) switch { 0 => 0, 1 => 65535, _ => random.Next(1, 65536) };
            ports.Add(random.Next(10) switch
            {
                < 6 => JsonValue.Create(port),
                < 9 => JsonValue.Create(RangeFrom(port)),
                _ => JsonValue.Create(port.ToString(CultureInfo.InvariantCulture)),
            });
        }
        if (Chance(0.01))
        {
            ports.Add(JsonValue.Create("9:1"));
        }
        return ports;
    }

    private string RangeFrom(int first)
    {
        var last = Math.Min(65535, first + random.Next(0, 3) switch { 0 => 0, 1 => random.Next(1, 100), _ => random.Next(1, 65536) });
        return $"{first}:{last}";
    }

    /// <summary>Multiport slots of one accepted list entry: a range of two different ports takes two.</summary>
    private static int Slots(JsonNode? port) =>
        port is JsonValue value && value.TryGetValue<string>(out var text) && text.Split(':') is [var first, var last] && first != last ? 2 : 1;

    private void AddIf(JsonObject rule, string name, double odds, Func<JsonNode> value)
    {
        if (Chance(odds))
        {
            rule[name] = value();
        }
    }

    private bool Chance(double odds) => random.NextDouble() < odds;

    private T Pick<T>(params T[] options) => options[random.Next(options.Length)];
}
