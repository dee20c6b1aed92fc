using System.Text;
using System.Text.RegularExpressions;
using Felix.Agent.Calculation;
using Felix.Agent.Model;
using Felix.Agent.Policy;
using Felix.Agent.Tests.Model.Fuzz;
using Felix.Dataplane.Iptables;

namespace Felix.Agent.Tests.Policy;

/// <summary>
/// Whatever profile arrives from etcd, its chains are made only of the fragments the renderer
/// knows: thousands of fuzzed rule values, the accepted ones rendered for both families, every line
/// matched against a grammar of those fragments. A value that could smuggle in a match or an action
/// (a tag like <c>" -j ACCEPT"</c>, a quote in a log prefix) would fail the grammar here.
/// </summary>
public partial class RenderingSafetyTests
{
    private const int Cases = 8_000;

    [Fact]
    public void Rendered_profile_lines_contain_only_known_fragments()
    {
        var options = new ModelOptions("cali");
        var key = new ProfileRulesKey("fuzzed");
        var rendered = 0;
        for (var seed = 0; seed < Cases; seed++)
        {
            var value = new FuzzInputs(new Random(seed)).Structured(key);
            if (ValueParser.Parse(key, value, options) is not ValidValue { Value: ProfileRules rules })
            {
                continue;
            }
            foreach (var version in new[] { IpVersion.V4, IpVersion.V6 })
            {
                var renderer = new PolicyRenderer(version, new PolicyConfig("cali", 0xff000000));
                renderer.OnUpdate(new ProfileUpdate("fuzzed", rules));
                renderer.Render();
                var text = RestoreScript.Render(TableName.Filter, renderer.Chains(TableName.Filter).Where(c => c.Name.StartsWith("felix-p-", StringComparison.Ordinal)), []);
                foreach (var line in text.Split('\n').Where(l => l.StartsWith("-A ", StringComparison.Ordinal)))
                {
                    rendered++;
                    Assert.True(ProfileLine().IsMatch(line), $"seed {seed}, value {Encoding.UTF8.GetString(value)}: unexpected line\n{line}");
                }
            }
        }
        // The generator must reach the renderer often enough for this to mean something.
        Assert.True(rendered > Cases / 2, $"only {rendered} lines rendered from {Cases} cases");
    }

    [GeneratedRegex("""
        ^-A\ felix-p-[A-Za-z0-9_.-]{1,16}-[io]
        (\ -m\ comment\ --comment\ "[\x20-\x21\x23-\x26\x28-\x5b\x5d-\x7e]+")?
        (\ (!\ )?-p\ ([a-z][a-z0-9]*|[0-9]{1,3}))?
        (\ (
            (!\ )?-[sd]\ [0-9a-f.:]+/[0-9]{1,3}
          | -m\ iprange\ !\ --(src|dst)-range\ [0-9a-f.:]+-[0-9a-f.:]+
          | -m\ set\ (!\ )?--match-set\ felix-v[46]-[A-Za-z0-9_.-]{1,16}\ (src|dst)
          | -m\ icmp6?\ (!\ )?--icmp(v6)?-type\ [0-9]{1,3}(/[0-9]{1,3})?
          | -m\ multiport\ (!\ )?--[sd]ports\ [0-9]{1,5}(:[0-9]{1,5})?(,[0-9]{1,5}(:[0-9]{1,5})?){0,14}
        ))*
        (\ -m\ mark\ --mark\ 0x1000000/0x1000000)?
        \ (-j\ MARK\ --set-xmark\ 0x1000000/0x1000000|-j\ RETURN|-j\ DROP|-j\ LOG\ --log-prefix\ "[\x20-\x21\x23-\x26\x28-\x5b\x5d-\x7e]{1,29}")\z
        """, RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex ProfileLine();
}
