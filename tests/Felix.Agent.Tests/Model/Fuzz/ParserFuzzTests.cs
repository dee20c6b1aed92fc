using Felix.Agent.Model;

namespace Felix.Agent.Tests.Model.Fuzz;

/// <summary>
/// Property tests: whatever bytes arrive under whatever key, the parsers answer with a typed
/// result (never an exception), rejections carry a short printable single-line reason, accepted
/// values satisfy every invariant the rest of the agent relies on, and parsing is deterministic
/// with value equality. 20,000 value cases and 5,000 keys, seeded, so a failure names the seed
/// that reproduces it.
/// </summary>
public class ParserFuzzTests
{
    private const int CasesPerStrategy = 5_000;
    private static readonly ModelOptions Options = new("cali");

    [Theory]
    [InlineData("bytes", 1)]
    [InlineData("json", 2)]
    [InlineData("mutation", 3)]
    [InlineData("structured", 4)]
    public void Values_of_every_key_kind_give_typed_results_only(string strategy, int seed)
    {
        var validByKind = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < CasesPerStrategy; i++)
        {
            var caseSeed = (seed * 1_000_000) + i;
            var inputs = new FuzzInputs(new Random(caseSeed));
            var key = FuzzInputs.Keys[i % FuzzInputs.Keys.Length];
            var value = strategy switch
            {
                "bytes" => inputs.Bytes(),
                "json" => inputs.Json(),
                "mutation" => inputs.Mutation(key),
                _ => inputs.Structured(key),
            };
            var context = $"seed {caseSeed}, key {key.Path}, value (base64) {Convert.ToBase64String(value)}";

            var result = ParseOrFail(key, value, context);

            if (result is ValidValue valid)
            {
                ModelInvariants.Check(key, valid.Value, Options, context);
                validByKind[key.Path] = validByKind.GetValueOrDefault(key.Path) + 1;
            }
            Assert.Equal(result, ParseOrFail(key, value, context));
            Assert.Equal(result.GetHashCode(), ParseOrFail(key, value, context).GetHashCode());
        }
        if (strategy == "structured")
        {
            // Fuzzing that never gets past the syntax gate proves little: every kind must see valid values too.
            Assert.All(FuzzInputs.Keys, key => Assert.True(validByKind.GetValueOrDefault(key.Path) > 0, $"no valid value generated for {key.Path}"));
        }
    }

    [Fact]
    public void Keys_give_typed_results_and_known_keys_round_trip_through_their_path()
    {
        var random = new Random(5);
        string[] segments =
        [
            "calico", "v1", "Ready", "config", "host", "node1", "bird_ip", "workload", "endpoint", "policy", "profile",
            "rules", "tags", "ipam", "v4", "v6", "pool", "10.0.0.0-8", "fd00::-64", "10.0.0.1-8", "FD00::-64", "db",
            "", " ", "a b", "$(x)", "x;y", "\n", "é", new string('a', 254), "..", "-", "felix",
        ];
        for (var i = 0; i < CasesPerStrategy; i++)
        {
            var parts = Enumerable.Range(0, random.Next(1, 9)).Select(_ => segments[random.Next(segments.Length)]);
            var path = (random.Next(4) > 0 ? "/calico/v1/" : "/") + string.Join("/", parts);

            var result = KeyParser.Parse(path);

            switch (result)
            {
                case KnownKey known:
                    Assert.Equal(path, known.Key.Path);
                    Assert.Equal(result, KeyParser.Parse(known.Key.Path));
                    break;
                case InvalidKey invalid:
                    ModelInvariants.CheckReason(invalid.Reason, path);
                    Assert.Contains(invalid.Kind, new[] { "ready", "config", "host_ip", "endpoint", "profile_rules", "profile_tags", "pool" });
                    break;
                default:
                    Assert.IsType<UnknownKey>(result);
                    break;
            }
        }
    }

    private static ValueParseResult ParseOrFail(DatastoreKey key, byte[] value, string context)
    {
        ValueParseResult result;
        try
        {
            result = ValueParser.Parse(key, value, Options);
        }
        catch (Exception error) when (error is not Xunit.Sdk.XunitException)
        {
            throw new Xunit.Sdk.XunitException($"parser threw {error.GetType().Name}: {error.Message} ({context})");
        }
        if (result is InvalidValue invalid)
        {
            ModelInvariants.CheckReason(invalid.Reason, context);
        }
        return Assert.IsAssignableFrom<ValueParseResult>(result);
    }
}
