namespace Felix.Agent.Tests;

/// <summary>
/// The seed article's profiles as etcd holds them (../shared/seeds): web exposes 80 and 443, app
/// admits web, db admits its own tag and <c>db-users</c> (which app carries) on 3306, and every
/// profile allows all outbound traffic. The golden reference for every test of that example.
/// </summary>
internal static class SeedArticle
{
    private const string AllowAllOut = """ "outbound_rules": [ { "action": "allow" } ] """;

    public static readonly (string Key, string Value)[] Profiles =
    [
        ("/calico/v1/policy/profile/web/rules",
            $$"""{ "inbound_rules": [ { "action": "allow", "src_tag": "web" }, { "action": "allow", "protocol": "tcp", "dst_ports": [80, 443] } ], {{AllowAllOut}} }"""),
        ("/calico/v1/policy/profile/web/tags", """["web"]"""),
        ("/calico/v1/policy/profile/app/rules",
            $$"""{ "inbound_rules": [ { "action": "allow", "src_tag": "app" }, { "action": "allow", "src_tag": "web" } ], {{AllowAllOut}} }"""),
        ("/calico/v1/policy/profile/app/tags", """["app", "db-users"]"""),
        ("/calico/v1/policy/profile/db/rules",
            $$"""{ "inbound_rules": [ { "action": "allow", "src_tag": "db" }, { "action": "allow", "src_tag": "db-users", "protocol": "tcp", "dst_ports": [3306] } ], {{AllowAllOut}} }"""),
        ("/calico/v1/policy/profile/db/tags", """["db"]"""),
    ];
}
