using Felix.Agent.Model;

namespace Felix.Agent.Tests.Model.Corpus;

/// <summary>Every case of bad-inputs.jsonc is rejected, with the reason the corpus names.</summary>
public class BadInputCorpusTests
{
    public static TheoryData<string> CaseNames => new(BadInputCorpus.Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Each_bad_input_is_rejected_with_its_reason(string name)
    {
        var @case = BadInputCorpus.Cases[name];

        var reason = Reject(@case);

        Assert.Contains(@case.Reason, reason, StringComparison.Ordinal);
        Assert.True(reason.Length <= 300, $"reason is {reason.Length} characters: {reason}");
        Assert.All(reason, c => Assert.InRange(c, ' ', '~'));
    }

    [Fact]
    public void The_corpus_has_at_least_forty_cases() => Assert.True(BadInputCorpus.Cases.Count >= 40, $"{BadInputCorpus.Cases.Count} cases");

    private static string Reject(BadInputCorpus.Case @case)
    {
        var key = KeyParser.Parse(@case.Key);
        if (@case.Value is null)
        {
            return Assert.IsType<InvalidKey>(key).Reason;
        }
        var known = Assert.IsType<KnownKey>(key);
        var result = ValueParser.Parse(known.Key, @case.Value, new ModelOptions("cali"));
        return result switch
        {
            InvalidValue invalid => invalid.Reason,
            _ => throw new Xunit.Sdk.XunitException($"{@case.Name}: expected a rejection, got {result}"),
        };
    }
}
