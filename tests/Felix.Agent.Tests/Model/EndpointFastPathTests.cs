using System.Text;
using System.Text.Unicode;
using Felix.Agent.Model;
using Felix.Agent.Tests.Model.Fuzz;

namespace Felix.Agent.Tests.Model;

/// <summary>
/// The endpoint parser's fast path may only ever agree with the full one: a value it accepts must
/// parse to the same record through the full path, and anything unusual must be left to the full
/// path (so every reason for refusing a value stays the full path's). Checked over the fuzzer's
/// endpoint values (valid, damaged and arbitrary) and over the edge cases the fast path hands on.
/// </summary>
public class EndpointFastPathTests
{
    private static readonly ModelOptions Options = new("cali");
    private static readonly WorkloadEndpointKey Key = new("node1", "docker", "w1", "eth0");

    private static ValueParseResult Full(byte[] value)
    {
        using var document = JsonInput.Parse(value, out var reason);
        return document is null ? new InvalidValue(reason!) : EndpointParser.Parse(document.RootElement, Options);
    }

    [Theory]
    [InlineData("structured", 11)]
    [InlineData("mutation", 12)]
    [InlineData("json", 13)]
    public void A_value_the_fast_path_accepts_is_the_full_paths_record(string strategy, int seed)
    {
        var accepted = 0;
        for (var i = 0; i < 5_000; i++)
        {
            var inputs = new FuzzInputs(new Random((seed * 1_000_000) + i));
            var value = strategy switch
            {
                "structured" => inputs.Structured(Key),
                "mutation" => inputs.Mutation(Key),
                _ => inputs.Json(),
            };
            if (!Utf8.IsValid(value) || EndpointParser.TryParseFast(value, Options) is not { } fast)
            {
                continue;
            }
            accepted++;
            var full = Full(value);
            Assert.True(full is ValidValue { Value: WorkloadEndpoint }, $"the fast path accepted what the full path refuses ({full}): {Encoding.UTF8.GetString(value)}");
            Assert.Equal(((ValidValue)full).Value, fast);
        }
        if (strategy == "structured")
        {
            Assert.True(accepted > 100, $"the fast path accepted only {accepted} structured values");
        }
    }

    [Fact]
    public void A_typical_endpoint_takes_the_fast_path()
    {
        var value = """{"state":"active","name":"cali0000000000a","mac":"96:C4:00:00:00:0a","profile_ids":["db","p10"],"ipv4_nets":["10.0.0.11/32"],"ipv6_nets":["fd00::b/128"],"ipv4_gateway":"10.0.0.1","labels":{"a":[1,{"b":"c"}]}}"""u8.ToArray();

        var fast = EndpointParser.TryParseFast(value, Options);

        Assert.NotNull(fast);
        Assert.Equal(((ValidValue)Full(value)).Value, fast);
    }

    [Theory]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":["db"],"mac":null}""")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":["db"],"labels":null}""")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":["d\u0062"]}""")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":["db"],"x":"\ud800"}""")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":["db"],"x":{"y":"\ud800"}}""")]
    [InlineData("""{"st\u0061te":"active","name":"cali1","profile_ids":["db"]}""")]
    [InlineData("""{"state":"active","state":"active","name":"cali1","profile_ids":["db"]}""")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":["db"],"profile_id":"db"}""")]
    [InlineData("""{"state":"active","name":"cali1"}""")]
    [InlineData("""{"state":"up","name":"cali1","profile_ids":["db"]}""")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":["db"],"ipv4_nets":["10.0.0.0/24"]}""")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":["db"],"ipv4_nets":["0.0.0.0/32"]}""")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":["db"],"ipv4_nets":["fd00::1/128"]}""")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":["db"],"ipv6_gateway":"10.0.0.1"}""")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":["db"]} x""")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":["db"],}""")]
    [InlineData("""{"state":"active","name":"cali1","profile_ids":["db"],"x":[[[[[[[[[[1]]]]]]]]]]}""")]
    [InlineData("""[]""")]
    [InlineData("""   """)]
    public void Anything_unusual_is_left_to_the_full_path(string value) =>
        Assert.Null(EndpointParser.TryParseFast(Encoding.UTF8.GetBytes(value), Options));

    [Fact]
    public void Profile_ids_are_one_string_per_name_across_endpoints()
    {
        var a = EndpointParser.TryParseFast("""{"state":"active","name":"cali1","profile_ids":["shared-profile"]}"""u8, Options)!;
        var b = EndpointParser.TryParseFast("""{"state":"active","name":"cali2","profile_ids":["shared-profile"]}"""u8, Options)!;

        Assert.Same(a.ProfileIds[0], b.ProfileIds[0]);
    }
}
