using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Felix.Agent.Model;
using Felix.Agent.Tests.Model.Corpus;

namespace Felix.IntegrationTests.Datastore;

/// <summary>
/// One corpus case as the agent test writes it: the key moved to where an agent for
/// <c>host</c> reads it, the case's value bytes unchanged (or, for a case about the key alone, a
/// value that would be programmed if the key were wrongly accepted), the metric label the agent
/// counts it under, and the text of the value a restore line must never carry.
/// </summary>
internal sealed record PlacedCase(BadInputCorpus.Case Case, string Key, byte[] Value, string Kind, IReadOnlyList<string> Tokens)
{
    public bool IsReady => Key == "/calico/v1/Ready";

    /// <summary>The key as the agent's log line shows it (control characters folded, see LogLineFormatter).</summary>
    public string LoggedKey => BadInputPlacement.Fold(Key);

    public override string ToString() => Case.Name;
}

internal static partial class BadInputPlacement
{
    /// <summary>
    /// Places every corpus case for an agent that is <paramref name="host"/>. Corpus keys name host
    /// <c>h</c>/<c>node1</c>, workload <c>w</c> and profile <c>db</c>; here each case gets its own
    /// workload or profile (<c>bad07</c>), so no two cases share a key and none lands on a key the
    /// valid model uses. Other hosts' <c>bird_ip</c> keys get a host of their own for the same reason.
    /// Pool keys stay as they are: a pool value must name the key's network, so the pool cases whose
    /// value and reason name <c>10.0.0.0/8</c> share that key.
    /// </summary>
    public static IReadOnlyList<PlacedCase> PlaceAll(string host) =>
        [.. BadInputCorpus.Cases.Values.Select((c, i) => Place(c, i + 1, host))];

    public static PlacedCase Place(BadInputCorpus.Case corpusCase, int index, string host)
    {
        var id = "bad" + index.ToString("00", CultureInfo.InvariantCulture);
        var segments = corpusCase.Key.Split('/');
        if (corpusCase.Key.StartsWith("/calico/v1/host/", StringComparison.Ordinal) && segments.Length >= 6)
        {
            switch (segments[5])
            {
                case "workload" when segments.Length >= 8:
                    segments[4] = segments[4] == "h" ? host : segments[4];
                    segments[7] = segments[7] == "w" ? id : segments[7];
                    break;
                case "bird_ip":
                    segments[4] = segments[4] == "node1" ? "bad-host-" + id : segments[4];
                    break;
                case "config":
                    segments[4] = segments[4] is "node1" or "h" ? host : segments[4];
                    break;
            }
        }
        else if (corpusCase.Key.StartsWith("/calico/v1/policy/profile/db/", StringComparison.Ordinal))
        {
            segments[5] = id;
        }

        var key = string.Join('/', segments);
        var kind = KeyParser.Parse(key) switch
        {
            KnownKey known => known.Key.Kind,
            InvalidKey invalid => invalid.Kind,
            _ => throw new InvalidOperationException($"corpus case {corpusCase.Name}: {key} is not a key the agent reads"),
        };
        var value = corpusCase.Value ?? Carrier(key, index);
        return new PlacedCase(corpusCase, key, value, kind, Tokens(value));
    }

    /// <summary>
    /// For a case about an invalid key: a value that is valid for the kind of key it looks like and
    /// carries addresses and names used nowhere else, so that, were the key accepted anyway, what it
    /// describes would show up in the kernel's input and be caught.
    /// </summary>
    private static byte[] Carrier(string key, int index)
    {
        var n = index.ToString(CultureInfo.InvariantCulture);
        var text = key switch
        {
            _ when key.Contains("/endpoint/", StringComparison.Ordinal) =>
                $$"""{"state":"active","name":"calibadkey{{index:00}}","profile_ids":["db"],"ipv4_nets":["10.77.0.{{n}}/32"]}""",
            _ when key.EndsWith("/rules", StringComparison.Ordinal) =>
                $$"""{"inbound_rules":[{"action":"allow","src_net":"10.77.1.{{n}}/32"}],"outbound_rules":[]}""",
            _ when key.EndsWith("/tags", StringComparison.Ordinal) => $"""["badkeytag{index:00}"]""",
            _ when key.Contains("/pool/", StringComparison.Ordinal) => $$"""{"cidr":"10.77.2.{{n}}/32","masquerade":true}""",
            _ when key.EndsWith("/bird_ip", StringComparison.Ordinal) => $"10.77.3.{n}",
            _ => "DEBUG",
        };
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>
    /// The pieces of text a value could hand on: every JSON string that is not an object's field
    /// name, every number of four digits or more, or — for a value with no strings at all (a raw
    /// config value, a bare address) — the whole value. Invalid UTF-8 is decoded lossily, so the
    /// readable parts around a bad byte are still looked for.
    /// </summary>
    public static IReadOnlyList<string> Tokens(byte[] value)
    {
        var text = Encoding.UTF8.GetString(value);
        var tokens = new List<string>();
        var strings = JsonString().Matches(text);
        foreach (Match match in strings)
        {
            if (!match.Groups["field"].Success)
            {
                tokens.Add(Unescape(match.Groups["body"].Value));
            }
        }

        var numbers = LongNumber().Matches(JsonString().Replace(text, " ")).Select(m => m.Value).ToList();
        tokens.AddRange(numbers);
        if (strings.Count == 0 && numbers.Count == 0 && text.Trim() is { Length: > 0 } whole)
        {
            tokens.Add(whole);
        }

        return [.. tokens.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>What <c>LogLineFormatter</c> does to a message: line breaks as <c>\n</c>, other control characters as <c>\xNN</c>.</summary>
    public static string Fold(string text)
    {
        var folded = new StringBuilder(text.Length);
        foreach (var c in text.ReplaceLineEndings("\n"))
        {
            folded.Append(c switch
            {
                '\n' => @"\n",
                _ when char.IsControl(c) && c != '\t' => @"\x" + ((int)c).ToString("x2", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            });
        }

        return folded.ToString();
    }

    private static string Unescape(string body)
    {
        try
        {
            return JsonSerializer.Deserialize<string>("\"" + body + "\"") ?? body;
        }
        catch (JsonException)
        {
            // A lone surrogate escape and the like: the text as written is what to look for.
            return body;
        }
    }

    [GeneratedRegex("""(?<!\\)"(?<body>(?:[^"\\]|\\.)*)"(?<field>\s*:)?""", RegexOptions.Singleline)]
    private static partial Regex JsonString();

    [GeneratedRegex(@"-?\d{4,}")]
    private static partial Regex LongNumber();
}
