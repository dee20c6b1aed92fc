using System.Globalization;
using System.Text;
using Felix.Agent.Model;

namespace Felix.Agent.Tests.Model.Fuzz;

/// <summary>
/// Seeded generators of hostile input for the parsers: raw bytes, arbitrary JSON, mutations of
/// valid values, and structured values that are valid more often than not, so the fuzzing reaches
/// the deep checks (field combinations) and not only the syntax gate. Every generator draws from
/// the <see cref="Random"/> it is given, so a case is reproduced from its seed alone.
/// </summary>
internal sealed class FuzzInputs(Random random)
{
    /// <summary>How often a structured value's field gets an invalid choice.</summary>
    private int _damagePercent = 25;

    public static readonly DatastoreKey[] Keys =
    [
        new ReadyKey(),
        new GlobalConfigKey("LogSeverityScreen"),
        new HostConfigKey("node1", "InterfacePrefix"),
        new HostIpKey("node1"),
        new WorkloadEndpointKey("node1", "docker", "w1", "eth0"),
        new ProfileRulesKey("db"),
        new ProfileTagsKey("db"),
        new IpPoolKey(IpVersion.V4, System.Net.IPNetwork.Parse("10.0.0.0/8")),
        new IpPoolKey(IpVersion.V6, System.Net.IPNetwork.Parse("fd00::/64")),
    ];

    private static readonly string[] FieldNames =
    [
        "state", "name", "mac", "profile_ids", "profile_id", "ipv4_nets", "ipv6_nets", "ipv4_gateway", "ipv6_gateway",
        "inbound_rules", "outbound_rules", "cidr", "masquerade", "action", "ip_version", "log_prefix",
        "protocol", "src_tag", "dst_tag", "src_net", "dst_net", "src_ports", "dst_ports", "icmp_type", "icmp_code",
        "!protocol", "!src_tag", "!dst_tag", "!src_net", "!dst_net", "!src_ports", "!dst_ports", "!icmp_type", "!icmp_code",
        "!action", "id", "", "a b",
    ];

    private static readonly string[] Strings =
    [
        "active", "inactive", "cali1", "cali2466cece7bc", "cali", "eth0", "db", "db-users", "APP", "tcp", "udp", "icmp",
        "icmpv6", "sctp", "udplite", "TCP", "allow", "deny", "log", "10.0.0.0/8", "10.1.2.3/16", "192.168.0.1/32",
        "192.168.0.1", "fd00::1/128", "fd00::/64", "fe80::1", "fe80::1%eth0", "300.1.2.3/32", "010.0.0.1", "1",
        "96:c4:86:4d:d7:2c", "96-c4-86-4d-d7-2c", "80", "1:2", "8000:8080", "1:2:3", "9:8", "65536", "", " ", "a b",
        "$(reboot)", "x;y", " -j ACCEPT", "\n", "\"", "\\", "\0", "é", "\U0001F600", "true", "false", "felix: ",
    ];

    private static readonly string[] Numbers =
    [
        "0", "1", "4", "6", "8", "17", "58", "132", "254", "255", "256", "-1", "65535", "65536", "3306", "1e3", "1.5",
        "-0", "99999999999999999999", "2147483648", "0.0",
    ];

    /// <summary>Escapes that parse as JSON but may not decode (lone surrogates) or decode to control characters.</summary>
    private static readonly string[] RawEscapes = ["\\ud800", "\\udc00", "\\u0000", "\\n", "\\\"", "\\/", "\\ud83d\\ude00"];

    public byte[] Bytes()
    {
        var bytes = new byte[random.Next(0, 300)];
        random.NextBytes(bytes);
        return bytes;
    }

    public byte[] Json() => Encoding.UTF8.GetBytes(JsonValue(random.Next(0, 6)));

    /// <summary>A structured value for <paramref name="key"/>, then sometimes damaged byte by byte.</summary>
    public byte[] Mutation(DatastoreKey key)
    {
        var bytes = Structured(key).ToList();
        var edits = random.Next(1, 4);
        for (var i = 0; i < edits; i++)
        {
            var at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(4))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes.Insert(at, (byte)random.Next(256));
                    break;
                case 2 when bytes.Count > 0:
                    bytes.RemoveAt(at);
                    break;
                default:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
            }
        }
        return [.. bytes];
    }

    public byte[] Structured(DatastoreKey key) => Encoding.UTF8.GetBytes(key switch
    {
        ReadyKey => Pick("true", "false", "True", "", "true\n", "1"),
        GlobalConfigKey or HostConfigKey => Pick(Strings),
        HostIpKey => Pick("192.168.78.21", "10.0.0.1", "010.0.0.1", "1", "fd00::1", "1.2.3.4.5", "256.0.0.1", ""),
        WorkloadEndpointKey => Endpoint(),
        ProfileRulesKey => Rules(),
        ProfileTagsKey => List(() => Str(Pick("db", "db-users", "web", "a b", "", "x;y", "APP")), 4),
        IpPoolKey => Object(
            ("cidr", () => Str(Pick("10.0.0.0/8", "fd00::/64", "10.0.0.1/8", "10.0.0.0/16", "fd00::/63"))),
            ("masquerade", () => Pick("true", "false", "\"yes\"", "null", "1")),
            ("ipip", () => Str("tunl0"))),
        _ => throw new ArgumentOutOfRangeException(nameof(key)),
    });

    private string Endpoint() => Object(
        ("state", () => Str(Usually("active", "inactive", "up"))),
        ("name", () => Str(Usually("cali2466cece7bc", "cali1", "cali", "eth0", "cali 1", "cali1234567890ab"))),
        ("mac", () => Str(Usually("96:c4:86:4d:d7:2c", "96:C4:86:4D:D7:2C", "96:c4:86:4d:d7", "zz:c4:86:4d:d7:2c"))),
        ("profile_ids", () => List(() => Str(Usually("db", "web", "a b", "")), 3)),
        ("profile_id", () => Str(Pick("db", "x;y"))),
        ("ipv4_nets", () => List(() => Str(Usually("192.168.0.1/32", "192.168.0.2", "10.0.0.0/24", "fd00::1/128")), 3)),
        ("ipv6_nets", () => List(() => Str(Usually("fd00::1/128", "fd00::2", "fd00::/64", "10.0.0.1/32")), 3)),
        ("ipv4_gateway", () => Str(Usually("10.0.0.1", "fe80::1", "1"))),
        ("ipv6_gateway", () => Str(Usually("fe80::1", "10.0.0.1", "fe80::1%1"))),
        ("labels", () => JsonValue(2)));

    private string Rules()
    {
        var lists = new List<(string, string)>();
        if (random.Next(5) > 0)
        {
            lists.Add(("inbound_rules", List(Rule, 4)));
        }
        if (random.Next(5) > 1)
        {
            lists.Add(("outbound_rules", List(Rule, 3)));
        }
        if (random.Next(4) == 0)
        {
            lists.Add(("id", Str("db")));
        }
        return Members(lists);
    }

    /// <summary>
    /// A rule of one of the shapes real profiles have (port rule, ICMP rule, protocol number,
    /// tags and nets only), usually valid, sometimes with one field that breaks it.
    /// </summary>
    private string Rule()
    {
        // Most rules are clean and a few are damaged in several places, so that profiles of
        // several rules are still often valid and the deep checks see every combination.
        _damagePercent = random.Next(5) == 0 ? 40 : 0;
        var fields = new List<(string, string)>();
        void Maybe(string name, Func<string> value, int percent)
        {
            if (random.Next(100) < percent)
            {
                fields.Add((name, value()));
            }
        }
        string Ports() => List(() => Usually(Pick("80", "443", "0", "65535", "\"1000:2000\"", "\"80\""), "65536", "-1", "\"1:2:3\"", "\"9:8\"", "1.5"), 3, min: 1);
        string Net() => Str(Usually(Pick("10.0.0.0/8", "10.1.2.3/16", "192.168.0.1", "fd00::/64", "fd00::1"), "10.0.0.0/33", "fd00::/129", "x"));
        string Tag() => Str(Usually(Pick("db", "db-users", "web"), "a b", " -j ACCEPT", ""));
        string Icmp() => Usually(Pick("0", "3", "8", "128", "254"), "255", "256", "-1");
        Maybe("action", () => Str(Usually(Pick("allow", "deny", "log"), "accept", "DROP")), 50);
        Maybe("ip_version", () => Usually(Pick("4", "6"), "5", "\"4\""), 25);
        switch (random.Next(4))
        {
            case 0:
                fields.Add(("protocol", Usually(Pick("\"tcp\"", "\"udp\"", "\"sctp\"", "\"udplite\"", "6", "17"), "\"icmp\"", "\"TCP\"")));
                Maybe("src_ports", Ports, 40);
                Maybe("dst_ports", Ports, 60);
                Maybe("!src_ports", Ports, 20);
                Maybe("!dst_ports", Ports, 20);
                break;
            case 1:
                fields.Add(("protocol", Usually(Pick("\"icmp\"", "\"icmpv6\"", "1", "58"), "\"tcp\"")));
                Maybe("icmp_type", Icmp, 60);
                Maybe("icmp_code", Icmp, 40);
                Maybe("!icmp_type", Icmp, 30);
                Maybe("!icmp_code", Icmp, 20);
                break;
            case 2:
                fields.Add(("protocol", Usually(Pick("47", "132", "255", "\"sctp\""), "0", "256", "\"tcp; rm\"")));
                break;
        }
        foreach (var name in new[] { "src_tag", "dst_tag", "!src_tag", "!dst_tag" })
        {
            Maybe(name, Tag, 20);
        }
        foreach (var name in new[] { "src_net", "dst_net", "!src_net", "!dst_net" })
        {
            Maybe(name, Net, 15);
        }
        Maybe("!protocol", () => Pick("\"tcp\"", "\"icmp\"", "17"), 10);
        Maybe("log_prefix", () => Str(Usually(Pick("felix: ", "DROP "), "x\"y", new string('p', 30))), 10);
        Maybe(Pick("unknown", "!action", "src_port"), () => "1", 3);
        _damagePercent = 25;
        return Members(fields.OrderBy(_ => random.Next()).ToList());
    }

    /// <summary>An object with each field present with a probability that keeps most objects small.</summary>
    private string Object(params (string Name, Func<string> Value)[] fields)
    {
        var chance = random.NextDouble() * 0.5;
        var members = fields
            .Where(field => random.NextDouble() < chance || (field.Name is "state" or "name" or "profile_ids" or "cidr" && random.Next(4) > 0))
            .Select(field => $"{Str(field.Name)}:{field.Value()}");
        return "{" + string.Join(",", members) + "}";
    }

    private static string Members(List<(string Name, string Value)> members) =>
        "{" + string.Join(",", members.Select(member => $"{Str(member.Name)}:{member.Value}")) + "}";

    private string List(Func<string> item, int max, int min = 0) =>
        "[" + string.Join(",", Enumerable.Range(0, random.Next(min, max + 1)).Select(_ => item())) + "]";

    private string JsonValue(int depth) => random.Next(depth > 0 ? 9 : 6) switch
    {
        0 => "null",
        1 => Pick("true", "false"),
        2 => Pick(Numbers),
        3 => random.Next(1_000_000).ToString(CultureInfo.InvariantCulture),
        4 => Str(Pick(Strings)),
        5 => RandomString(),
        6 or 7 => "{" + string.Join(",", Enumerable.Range(0, random.Next(6)).Select(_ => $"{Str(Pick(FieldNames))}:{JsonValue(depth - 1)}")) + "}",
        _ => "[" + string.Join(",", Enumerable.Range(0, random.Next(5)).Select(_ => JsonValue(depth - 1))) + "]",
    };

    private string RandomString()
    {
        var text = new StringBuilder("\"");
        for (var i = random.Next(12); i > 0; i--)
        {
            if (random.Next(8) == 0)
            {
                text.Append(Pick(RawEscapes));
            }
            else
            {
                AppendEscaped(text, (char)random.Next(0x20, 0x250));
            }
        }
        return text.Append('"').ToString();
    }

    private static string Str(string value)
    {
        var text = new StringBuilder("\"");
        foreach (var c in value)
        {
            AppendEscaped(text, c);
        }
        return text.Append('"').ToString();
    }

    private static void AppendEscaped(StringBuilder text, char c)
    {
        if (c is '"' or '\\' or < ' ')
        {
            text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
        }
        else
        {
            text.Append(c);
        }
    }

    private string Pick(params string[] choices) => choices[random.Next(choices.Length)];

    /// <summary>The first, valid choice, except with a chance of <see cref="_damagePercent"/>.</summary>
    private string Usually(string valid, params string[] others) => random.Next(100) >= _damagePercent ? valid : Pick(others);
}
