using Felix.Dataplane.Exec;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// The fake is only worth its tests if it behaves like the real tools; every expectation here was
/// first observed with iptables 1.8.9 (legacy and nft) in a throwaway network namespace.
/// </summary>
public sealed partial class FakeIptablesTests
{
    private const string LegacyRestore = "iptables-legacy-restore";
    private const string NftRestore = "iptables-nft-restore";
    private const IpVersion V4 = IpVersion.V4;

    /// <summary>The starting point of most real-tool experiments: a referenced chain, a full one, an empty one.</summary>
    private const string Base = """
        *filter
        :used - [0:0]
        :full - [0:0]
        :empty - [0:0]
        -A INPUT -j used
        -A full -j ACCEPT
        -A full -j DROP
        COMMIT

        """;

    public static TheoryData<string> Restores => [LegacyRestore, NftRestore];

    [Theory]
    [MemberData(nameof(Restores))]
    public async Task Restore_appends_rules_in_order_and_creates_declared_chains(string restore)
    {
        var fake = await WithBaseAsync(restore);

        Assert.Equal(["INPUT", "FORWARD", "OUTPUT", "empty", "full", "used"], fake.ChainNames(V4, "filter"));
        Assert.Equal(["-j used"], fake.Chain(V4, "filter", "INPUT"));
        Assert.Equal(["-j ACCEPT", "-j DROP"], fake.Chain(V4, "filter", "full"));
        Assert.Equal([], fake.Chain(V4, "filter", "empty"));
        Assert.Null(fake.Chain(V4, "filter", "nosuch"));
    }

    [Theory]
    [MemberData(nameof(Restores))]
    public async Task Declaring_an_existing_user_chain_flushes_it_even_under_noflush(string restore)
    {
        var fake = await WithBaseAsync(restore);

        await AssertRestoresAsync(fake, restore, "*filter\n:full - [0:0]\n-A full -j RETURN\nCOMMIT\n");

        Assert.Equal(["-j RETURN"], fake.Chain(V4, "filter", "full"));
        Assert.Equal(["-j used"], fake.Chain(V4, "filter", "INPUT"));
    }

    [Theory]
    [MemberData(nameof(Restores))]
    public async Task Declaring_a_builtin_chain_keeps_its_rules_and_sets_the_policy_unless_dash(string restore)
    {
        var fake = await WithBaseAsync(restore);

        await AssertRestoresAsync(fake, restore, "*filter\n:INPUT DROP [0:0]\n:FORWARD - [0:0]\nCOMMIT\n");

        Assert.Equal(["-j used"], fake.Chain(V4, "filter", "INPUT"));
        Assert.Equal("DROP", fake.Policy(V4, "filter", "INPUT"));
        Assert.Equal("ACCEPT", fake.Policy(V4, "filter", "FORWARD"));
    }

    [Theory]
    [InlineData(LegacyRestore, "DROP")]
    [InlineData(NftRestore, "ACCEPT")]
    public async Task Without_noflush_each_table_in_the_input_is_flushed_and_other_tables_are_kept(string restore, string inputPolicy)
    {
        var fake = await WithBaseAsync(restore);
        await AssertRestoresAsync(fake, restore, "*filter\n:INPUT DROP [0:0]\nCOMMIT\n*nat\n:keep - [0:0]\n-A POSTROUTING -j keep\nCOMMIT\n");

        var result = await RunAsync(fake, restore, "*filter\n:x - [0:0]\n-A x -j ACCEPT\nCOMMIT\n");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["INPUT", "FORWARD", "OUTPUT", "x"], fake.ChainNames(V4, "filter"));
        Assert.Equal([], fake.Chain(V4, "filter", "INPUT"));
        Assert.Equal(["-j ACCEPT"], fake.Chain(V4, "filter", "x"));
        Assert.Equal(["-j keep"], fake.Chain(V4, "nat", "POSTROUTING"));
        // Legacy flushes chains and keeps policies; nft re-creates the table, so policies return to ACCEPT.
        Assert.Equal(inputPolicy, fake.Policy(V4, "filter", "INPUT"));
    }

    [Theory]
    [MemberData(nameof(Restores))]
    public async Task Insert_defaults_to_the_top_and_accepts_one_past_the_end(string restore)
    {
        var fake = await WithBaseAsync(restore);

        await AssertRestoresAsync(fake, restore, "*filter\n-I full -j RETURN\n-I full 2 -j LOG\n-I full 5 -j NFLOG\nCOMMIT\n");

        Assert.Equal(["-j RETURN", "-j LOG", "-j ACCEPT", "-j DROP", "-j NFLOG"], fake.Chain(V4, "filter", "full"));
    }

    [Theory]
    [MemberData(nameof(Restores))]
    public async Task Replace_and_delete_by_index_are_one_based(string restore)
    {
        var fake = await WithBaseAsync(restore);

        await AssertRestoresAsync(fake, restore, "*filter\n-R full 2 -j RETURN\n-D full 1\nCOMMIT\n");

        Assert.Equal(["-j RETURN"], fake.Chain(V4, "filter", "full"));
    }

    [Theory]
    [MemberData(nameof(Restores))]
    public async Task Delete_by_spec_removes_the_first_rule_that_matches_once_both_are_canonical(string restore)
    {
        var fake = await WithBaseAsync(restore);

        await AssertRestoresAsync(fake, restore, """
            *filter
            -A empty -s 10.0.0.1 -j ACCEPT
            -A empty -j DROP
            -A empty -s 10.0.0.1/32 -j ACCEPT
            -D empty --source 10.0.0.1/255.255.255.255 -j ACCEPT
            COMMIT

            """);

        Assert.Equal(["-j DROP", "-s 10.0.0.1/32 -j ACCEPT"], fake.Chain(V4, "filter", "empty"));
    }

    [Theory]
    [MemberData(nameof(Restores))]
    public async Task Flush_and_delete_chain_without_a_name_act_on_the_whole_table(string restore)
    {
        var fake = await WithBaseAsync(restore);

        await AssertRestoresAsync(fake, restore, "*filter\n-F\n-X\n-N fresh\n-A fresh -j ACCEPT\n-P FORWARD DROP\nCOMMIT\n");

        Assert.Equal(["INPUT", "FORWARD", "OUTPUT", "fresh"], fake.ChainNames(V4, "filter"));
        Assert.Equal([], fake.Chain(V4, "filter", "INPUT"));
        Assert.Equal("DROP", fake.Policy(V4, "filter", "FORWARD"));
    }

    [Theory]
    [MemberData(nameof(Restores))]
    public async Task A_failing_block_applies_nothing_and_stops_the_run_but_earlier_blocks_stay(string restore)
    {
        var fake = await WithBaseAsync(restore);

        var result = await RunAsync(fake, restore, """
            *filter
            -A empty -j ACCEPT
            COMMIT
            *filter
            -A empty -j DROP
            -F full
            -A empty -j nosuch
            COMMIT
            *nat
            :never - [0:0]
            COMMIT

            """, "--noflush");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Equal(["-j ACCEPT"], fake.Chain(V4, "filter", "empty"));
        Assert.Equal(["-j ACCEPT", "-j DROP"], fake.Chain(V4, "filter", "full"));
        Assert.Null(fake.Chain(V4, "nat", "never"));
    }

    [Theory]
    [MemberData(nameof(Restores))]
    public async Task A_chain_must_exist_before_the_line_that_jumps_to_it(string restore)
    {
        var fake = await WithBaseAsync(restore);

        var result = await RunAsync(fake, restore, "*filter\n-A empty -j later\n:later - [0:0]\nCOMMIT\n", "--noflush");

        Assert.Equal(2, result.ExitCode);
        Assert.Null(fake.Chain(V4, "filter", "later"));
    }

    [Theory]
    [MemberData(nameof(Restores))]
    public async Task A_chain_may_jump_to_itself_and_chains_may_loop_outside_the_hooks(string restore)
    {
        var fake = await WithBaseAsync(restore);

        await AssertRestoresAsync(fake, restore, "*filter\n-A empty -j empty\n-A empty -j full\n-A full -j empty\nCOMMIT\n");

        Assert.Equal(["-j empty", "-j full"], fake.Chain(V4, "filter", "empty"));
    }

    [Theory]
    [InlineData(LegacyRestore, "*filter\n-A empty -j ACCEPT\n-X nosuch\nCOMMIT\n", 1, "iptables-restore: line 3 failed\n")]
    [InlineData(NftRestore, "*filter\n-A empty -j ACCEPT\n-X nosuch\nCOMMIT\n", 0, "")]
    [InlineData(LegacyRestore, "*filter\n-A empty -j nosuch\nCOMMIT\n", 2,
        "iptables-restore v1.8.9 (legacy): Couldn't load target `nosuch':No such file or directory\n\nError occurred at line: 2\n"
        + "Try `iptables-restore -h' or 'iptables-restore --help' for more information.\n")]
    [InlineData(NftRestore, "*filter\n-A empty -j nosuch\nCOMMIT\n", 0, "")]
    [InlineData(LegacyRestore, "*filter\n-I full 9 -j ACCEPT\nCOMMIT\n", 1, "iptables-restore: line 2 failed\n")]
    [InlineData(NftRestore, "*filter\n-I full 9 -j ACCEPT\nCOMMIT\n", 0, "")]
    public async Task Test_mode_checks_without_committing_legacy_runs_every_line_nft_only_parses(string restore, string input, int exitCode,
        string stderr)
    {
        var fake = await WithBaseAsync(restore);
        var before = fake.Snapshot(V4, "filter");

        var result = await RunAsync(fake, restore, input, "--noflush", "--test");

        Assert.Equal(exitCode, result.ExitCode);
        Assert.Equal(stderr, result.StandardError);
        Assert.Equal(before, fake.Snapshot(V4, "filter"));
    }

    [Theory]
    [MemberData(nameof(Restores))]
    public async Task A_table_option_applies_only_that_tables_blocks(string restore)
    {
        var fake = await WithBaseAsync(restore);

        await AssertRestoresAsync(fake, restore, "*filter\n-A empty -j ACCEPT\nCOMMIT\n*nat\n:n - [0:0]\nCOMMIT\n", "--noflush", "-T", "nat");

        Assert.Equal([], fake.Chain(V4, "filter", "empty"));
        Assert.Equal([], fake.Chain(V4, "nat", "n"));
    }

    [Theory]
    [InlineData("-n", "-w")]
    [InlineData("-n", "-w", "5")]
    [InlineData("--noflush", "--wait", "5", "-W", "100000")]
    [InlineData("--noflush", "--wait=5")]
    [InlineData("-nv")]
    public async Task Wait_and_verbose_options_are_accepted(params string[] arguments)
    {
        var fake = await WithBaseAsync(LegacyRestore);

        await AssertRestoresAsync(fake, NftRestore, "*filter\n-A empty -j ACCEPT\nCOMMIT\n", arguments);

        Assert.Equal(["-j ACCEPT"], fake.Chain(V4, "filter", "empty"));
    }

    [Theory]
    [InlineData(LegacyRestore, "iptables-legacy-restore: unrecognized option '--bogus'\nTry `iptables-restore -h' for more information.\n")]
    [InlineData(NftRestore, "iptables-nft-restore: unrecognized option '--bogus'\nTry `iptables-nft-restore -h' for more information.\n")]
    [InlineData("/usr/sbin/iptables-nft-restore",
        "/usr/sbin/iptables-nft-restore: unrecognized option '--bogus'\nTry `iptables-nft-restore -h' for more information.\n")]
    public async Task An_unknown_option_fails_as_getopt_words_it(string restore, string stderr)
    {
        var result = await RunAsync(new FakeIptables(), restore, "*filter\nCOMMIT\n", "--noflush", "--bogus");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(stderr, result.StandardError);
    }

    [Fact]
    public async Task An_input_file_argument_is_a_test_bug_not_a_tool_failure()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => RunAsync(new FakeIptables(), LegacyRestore, string.Empty, "rules.txt"));
    }

    [Fact]
    public async Task Ip6tables_tools_act_on_the_v6_tables_only()
    {
        var fake = new FakeIptables();

        await AssertRestoresAsync(fake, "ip6tables-legacy-restore", "*filter\n:six - [0:0]\n-A six -s FD00::1 -p icmpv6 -j ACCEPT\nCOMMIT\n");

        Assert.Equal(["-s fd00::1/128 -p ipv6-icmp -j ACCEPT"], fake.Chain(IpVersion.V6, "filter", "six"));
        Assert.Null(fake.Chain(V4, "filter", "six"));
    }

    [Fact]
    public async Task Separate_backends_keep_separate_tables()
    {
        var fake = new FakeIptables(new FakeIptablesOptions { SeparateBackends = true });

        await AssertRestoresAsync(fake, LegacyRestore, "*filter\n:old - [0:0]\nCOMMIT\n");

        Assert.Equal([], fake.Legacy.Chain(V4, "filter", "old"));
        Assert.Null(fake.Nft.Chain(V4, "filter", "old"));
        Assert.False(fake.Nft.TableExists(V4, "filter"));
        Assert.Same(fake.Nft, fake.Default);
    }

    private static Task<CommandResult> RunAsync(FakeIptables fake, string program, string? input, params string[] arguments) =>
        fake.RunAsync(new Command(program, arguments, input, TimeSpan.FromSeconds(10)), CancellationToken.None);

    private static async Task AssertRestoresAsync(FakeIptables fake, string restore, string input, params string[] arguments)
    {
        var result = await RunAsync(fake, restore, input, arguments.Length == 0 ? ["--noflush"] : arguments);
        Assert.True(result.Succeeded, $"{restore} exited {result.ExitCode}: {result.StandardError}");
    }

    private static async Task<FakeIptables> WithBaseAsync(string restore)
    {
        var fake = new FakeIptables();
        await AssertRestoresAsync(fake, restore, Base);
        return fake;
    }
}
