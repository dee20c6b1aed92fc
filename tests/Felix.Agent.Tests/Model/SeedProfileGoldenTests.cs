using Felix.Agent.Model;
using static Felix.Agent.Tests.Model.ModelTesting;

namespace Felix.Agent.Tests.Model;

/// <summary>The profiles of the seed article, exactly as calicoctl printed them, "id" field included.</summary>
public class SeedProfileGoldenTests
{
    private static readonly Rule AllowAll = new();

    [Fact]
    public void The_db_profile_with_the_db_users_tag_rule()
    {
        const string json = """
            {
            "id": "db",
            "inbound_rules": [
            {
            "action": "allow",
            "src_tag": "db"
            },
            {
            "action": "allow",
            "src_tag": "db-users",
            "protocol": "tcp",
            "dst_ports": [
            3306
            ]
            }
            ],
            "outbound_rules": [
            {
            "action": "allow"
            }
            ]
            }
            """;

        Assert.Equal(
            new ProfileRules(
                [
                    new Rule { Match = new RuleMatch { SrcTag = "db" } },
                    new Rule { Match = new RuleMatch { SrcTag = "db-users", Protocol = Protocol.Tcp, DstPorts = [new PortRange(3306)] } },
                ],
                [AllowAll]),
            Valid<ProfileRules>(new ProfileRulesKey("db"), json));
    }

    [Fact]
    public void The_web_profile_exposes_80_and_443()
    {
        const string json = """
            {"id": "web",
             "inbound_rules": [{"action": "allow", "src_tag": "web"},
                               {"action": "allow", "protocol": "tcp", "dst_ports": [80, 443]}],
             "outbound_rules": [{"action": "allow"}]}
            """;

        Assert.Equal(
            new ProfileRules(
                [
                    new Rule { Match = new RuleMatch { SrcTag = "web" } },
                    new Rule { Match = new RuleMatch { Protocol = Protocol.Tcp, DstPorts = [new PortRange(80), new PortRange(443)] } },
                ],
                [AllowAll]),
            Valid<ProfileRules>(new ProfileRulesKey("web"), json));
    }

    [Fact]
    public void The_app_profile_allows_itself_and_web()
    {
        const string json = """
            {"id": "app",
             "inbound_rules": [{"action": "allow", "src_tag": "app"}, {"action": "allow", "src_tag": "web"}],
             "outbound_rules": [{"action": "allow"}]}
            """;

        Assert.Equal(
            new ProfileRules(
                [new Rule { Match = new RuleMatch { SrcTag = "app" } }, new Rule { Match = new RuleMatch { SrcTag = "web" } }],
                [AllowAll]),
            Valid<ProfileRules>(new ProfileRulesKey("app"), json));
    }

    [Fact]
    public void The_first_db_profile_with_the_uppercase_app_tag()
    {
        const string json = """
            {"id": "db",
             "inbound_rules": [{"action": "allow", "src_tag": "db"},
                               {"action": "allow", "src_tag": "APP", "protocol": "tcp", "dst_ports": [3306]}],
             "outbound_rules": [{"action": "allow"}]}
            """;

        var rules = Valid<ProfileRules>(new ProfileRulesKey("db"), json);

        Assert.Equal(new RuleMatch { SrcTag = "APP", Protocol = Protocol.Tcp, DstPorts = [new PortRange(3306)] }, rules.Inbound[1].Match);
        Assert.All(rules.Inbound, rule => Assert.True(rule.AppliesTo(IpVersion.V4) && rule.AppliesTo(IpVersion.V6)));
    }
}
