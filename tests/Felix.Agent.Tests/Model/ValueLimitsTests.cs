using System.Text;
using Felix.Agent.Model;
using static Felix.Agent.Tests.Model.ModelTesting;

namespace Felix.Agent.Tests.Model;

/// <summary>The checks every value passes before its meaning is looked at: size, encoding, syntax, depth.</summary>
public class ValueLimitsTests
{
    private static readonly ProfileTagsKey TagsKey = new("db");

    private static string Nested(int depth) => new string('[', depth) + new string(']', depth);

    [Fact]
    public void A_value_over_the_size_limit_is_rejected_before_it_is_parsed()
    {
        var value = new byte[ValueParser.MaxValueBytes + 1];

        var result = ValueParser.Parse(new GlobalConfigKey("X"), value, Options);

        Assert.Equal(new InvalidValue("value is 524289 bytes, over the limit of 524288 bytes"), result);
        Assert.IsType<ValidValue>(ValueParser.Parse(new GlobalConfigKey("X"), value.AsSpan(1), Options));
    }

    [Fact]
    public void Invalid_utf8_is_rejected_with_its_position_for_every_kind_of_key()
    {
        byte[] value = [(byte)'[', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)']'];

        Assert.Equal(new InvalidValue("value is not valid UTF-8 (byte 2)"), ValueParser.Parse(TagsKey, value, Options));
        Assert.IsType<InvalidValue>(ValueParser.Parse(new GlobalConfigKey("X"), value, Options));
        Assert.IsType<InvalidValue>(ValueParser.Parse(new ReadyKey(), [0xFF], Options));
    }

    [Fact]
    public void Nesting_up_to_the_limit_is_parsed_and_one_level_more_is_rejected()
    {
        Assert.Equal("tags[0]: expected a string, got a list", Reason(TagsKey, Nested(JsonInput.MaxDepth)));
        Assert.Equal("value is nested deeper than 32 levels (byte 32)", Reason(TagsKey, Nested(JsonInput.MaxDepth + 1)));
        Assert.StartsWith("value is nested deeper than 32 levels", Reason(TagsKey, Nested(10_000)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "value is empty, not JSON")]
    [InlineData(" \n", "value is empty, not JSON")]
    [InlineData("[\"a\",]", "value is not valid JSON (line 1, byte 6 of the line)")]
    [InlineData("[\"a\"] x", "value is not valid JSON (line 1, byte 7 of the line)")]
    [InlineData("[\"a\"\n", "value is not valid JSON (line 2")]
    [InlineData("[/* c */]", "value is not valid JSON")]
    [InlineData("['a']", "value is not valid JSON")]
    [InlineData("[\"\\ud800\"]", "value has a string escape that is not valid UTF-16 (byte 1)")]
    [InlineData("{\"\\udc00\":1}", "value has a string escape that is not valid UTF-16 (byte 1)")]
    public void Malformed_json_is_rejected_with_a_position(string value, string reason) =>
        Assert.StartsWith(reason, Reason(TagsKey, value), StringComparison.Ordinal);

    [Fact]
    public void Reasons_never_echo_more_than_a_short_escaped_ascii_excerpt()
    {
        var shown = Reasons.Show("x\n\r\t\u0001\u007f\"\\\u00e9" + new string('a', 200));

        // 25 characters of escapes, then as much of the rest as makes 60 shown.
        Assert.Equal("\"x\\n\\r\\t\\x01\\x7f\\\"\\\\\\u00e9" + new string('a', 35) + "\"... (209 characters)", shown);
        Assert.All(shown, c => Assert.InRange(c, ' ', '~'));
    }

    [Theory]
    [InlineData("10.0.0.0/8", "10.0.0.0/8")]
    [InlineData("db-users_1.x", "db-users_1.x")]
    [InlineData("a b", "\"a b\"")]
    [InlineData("", "\"\"")]
    [InlineData("$(reboot)", "\"$(reboot)\"")]
    public void Plain_tokens_are_shown_bare_and_anything_else_quoted(string text, string shown) =>
        Assert.Equal(shown, Reasons.Show(text));

    [Fact]
    public void Keys_can_be_shown_the_same_way_with_a_longer_limit()
    {
        Assert.Equal("/calico/v1/host/node1/workload/k8s/namespace.pod-name-abcdef/endpoint/eth0",
            Reasons.Show("/calico/v1/host/node1/workload/k8s/namespace.pod-name-abcdef/endpoint/eth0", 256));
        Assert.Equal("\"/calico/v1/config/a\\nb\"", Reasons.Show("/calico/v1/config/a\nb", 256));
    }

    [Fact]
    public void A_reason_for_a_long_bad_value_stays_short()
    {
        var reason = Reason(TagsKey, $"[\"{new string('a', 100_000)} \"]");

        Assert.Equal("tags[0]: \"" + new string('a', 60) + "\"... (100001 characters) is not a valid id (letters, digits, '_', '.', '-'; 1-253 characters)", reason);
    }

    [Fact]
    public void A_value_of_exactly_the_limit_is_parsed()
    {
        var value = Encoding.UTF8.GetBytes("[\"" + new string('a', 300) + "\"" + new string(' ', ValueParser.MaxValueBytes - 304) + "]");

        Assert.Equal(ValueParser.MaxValueBytes, value.Length);
        Assert.Contains("is not a valid id", Assert.IsType<InvalidValue>(ValueParser.Parse(TagsKey, value, Options)).Reason, StringComparison.Ordinal);
    }
}
