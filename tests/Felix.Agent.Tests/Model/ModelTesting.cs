using System.Text;
using Felix.Agent.Model;

namespace Felix.Agent.Tests.Model;

/// <summary>Shorthands for the model tests: parse a value for a key and unwrap the outcome.</summary>
internal static class ModelTesting
{
    public static readonly ModelOptions Options = new("cali");

    public static readonly WorkloadEndpointKey EndpointKey = new("node1", "docker", "container1", "eth1");

    public static readonly ProfileRulesKey RulesKey = new("db");

    public static ValueParseResult Parse(DatastoreKey key, string value) =>
        ValueParser.Parse(key, Encoding.UTF8.GetBytes(value), Options);

    public static T Valid<T>(DatastoreKey key, string value)
        where T : DatastoreValue
    {
        var result = Parse(key, value);
        if (result is InvalidValue invalid)
        {
            Assert.Fail($"expected a valid value, got: {invalid.Reason}");
        }
        return Assert.IsType<T>(Assert.IsType<ValidValue>(result).Value);
    }

    public static string Reason(DatastoreKey key, string value)
    {
        var result = Parse(key, value);
        if (result is ValidValue valid)
        {
            Assert.Fail($"expected an invalid value, got: {valid.Value}");
        }
        return Assert.IsType<InvalidValue>(result).Reason;
    }

    /// <summary>A rules value with one inbound rule.</summary>
    public static string OneRule(string ruleJson) => $$"""{"inbound_rules":[{{ruleJson}}]}""";

    public static Rule ValidRule(string ruleJson) =>
        Assert.Single(Valid<ProfileRules>(RulesKey, OneRule(ruleJson)).Inbound);

    public static string RuleReason(string ruleJson) => Reason(RulesKey, OneRule(ruleJson));
}
