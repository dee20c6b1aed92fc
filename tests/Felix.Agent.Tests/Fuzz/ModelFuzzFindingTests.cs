using Felix.Agent.Model;

namespace Felix.Agent.Tests.Fuzz;

/// <summary>
/// What AFL found in the model parsers (scripts/fuzz.sh model), one test per finding, each naming
/// its input under fuzz/regressions/model (which FuzzReplayTests also replays whole).
/// </summary>
public class ModelFuzzFindingTests
{
    /// <summary>
    /// fuzz/regressions/model/key-reason-of-escaped-characters: an endpoint key whose id holds 32
    /// bytes that are not UTF-8. Each decodes to U+FFFD, which a reason escapes to six characters,
    /// and the excerpt was limited to 60 input characters, not 60 shown: a 328-character reason.
    /// </summary>
    [Fact]
    public void A_key_id_of_non_ascii_characters_gets_a_short_reason()
    {
        var result = KeyParser.Parse("/calico/v1/host/node1/workload/docker/w1/endpoint/" + new string('\ufffd', 32) + "ali2466cece7bc\",\"mac\":\"96:c4");

        var invalid = Assert.IsType<InvalidKey>(result);
        Assert.InRange(invalid.Reason.Length, 1, 300);
        Assert.StartsWith("endpoint id: \"\\ufffd", invalid.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_shown_excerpt_never_exceeds_its_limit_whatever_it_escapes()
    {
        foreach (var c in (char[])['\ufffd', '\n', '\u0001', '"', 'a'])
        {
            var shown = Reasons.Show(new string(c, 500));

            // The excerpt between the quotes, then the length of the whole input.
            Assert.InRange(shown.IndexOf("\"...", StringComparison.Ordinal) - 1, Reasons.MaxEchoed - 5, Reasons.MaxEchoed);
            Assert.EndsWith("\"... (500 characters)", shown, StringComparison.Ordinal);
        }
    }
}
