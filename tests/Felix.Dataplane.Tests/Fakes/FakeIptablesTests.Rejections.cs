namespace Felix.Dataplane.Tests.Fakes;

public sealed partial class FakeIptablesTests
{
    private const string LegacyTry = "Try `iptables-restore -h' or 'iptables-restore --help' for more information.\n";
    private const string NftTry = "Try `iptables-nft-restore -h' or 'iptables-nft-restore --help' for more information.\n";
    private const string LegacyPrefix = "iptables-restore v1.8.9 (legacy): ";
    private const string NftPrefix = "iptables-nft-restore v1.8.9 (nf_tables): ";
    private const string TooLong = "abcdefghijklmnopqrstuvwxyz123";

    /// <summary>
    /// Each input after <see cref="Base"/>, with the exit code and stderr the real tool gave. Note
    /// where they differ: nft blames a missing jump target on the COMMIT line, has the kernel refuse
    /// busy chains and wrong-table targets (exit 4, naming the rule's line), and says why a line failed.
    /// </summary>
    public static TheoryData<string, string, int, string> Rejections => new()
    {
        { LegacyRestore, "*filter\n-A empty -j ACCEPT\n-A empty -j nosuch\nCOMMIT\n", 2,
            LegacyPrefix + "Couldn't load target `nosuch':No such file or directory\n\nError occurred at line: 3\n" + LegacyTry },
        { NftRestore, "*filter\n-A empty -j ACCEPT\n-A empty -j nosuch\nCOMMIT\n", 2,
            NftPrefix + "Chain 'nosuch' does not exist\nError occurred at line: 4\n" + NftTry },
        { LegacyRestore, "*filter\n-A empty -g nosuch\nCOMMIT\n", 2, LegacyPrefix + "goto 'nosuch' is not a chain\nError occurred at line: 2\n" + LegacyTry },
        { NftRestore, "*filter\n-A empty -g nosuch\nCOMMIT\n", 2, NftPrefix + "Chain 'nosuch' does not exist\nError occurred at line: 3\n" + NftTry },
        { LegacyRestore, "*filter\n-A empty -j FROB\nCOMMIT\n", 2,
            LegacyPrefix + "Couldn't load target `FROB':No such file or directory\n\nError occurred at line: 2\n" + LegacyTry },
        { LegacyRestore, "*filter\n-X used\nCOMMIT\n", 1, "iptables-restore: line 2 failed\n" },
        { NftRestore, "*filter\n-X used\nCOMMIT\n", 4, NftPrefix + "\nline 2: CHAIN_DEL failed (Device or resource busy): chain used\n" },
        { LegacyRestore, "*filter\n-X full\nCOMMIT\n", 1, "iptables-restore: line 2 failed\n" },
        { NftRestore, "*filter\n-X full\nCOMMIT\n", 4, NftPrefix + "\nline 2: CHAIN_DEL failed (Device or resource busy): chain full\n" },
        { LegacyRestore, "*filter\n-X INPUT\nCOMMIT\n", 1, "iptables-restore: line 2 failed\n" },
        { NftRestore, "*filter\n-X INPUT\nCOMMIT\n", 4, NftPrefix + "\nline 2: CHAIN_DEL failed (Device or resource busy): chain INPUT\n" },
        { LegacyRestore, "*filter\n-X\nCOMMIT\n", 1, "iptables-restore: line 2 failed\n" },
        { NftRestore, "*filter\n-X\nCOMMIT\n", 4,
            NftPrefix + "\nline 2: CHAIN_DEL failed (Device or resource busy): chain used\nline 2: CHAIN_DEL failed (Device or resource busy): chain full\n" },
        { LegacyRestore, "*filter\n-X nosuch\nCOMMIT\n", 1, "iptables-restore: line 2 failed\n" },
        { NftRestore, "*filter\n-X nosuch\nCOMMIT\n", 1, "iptables-nft-restore: line 2 failed: No chain/target/match by that name.\n" },
        { NftRestore, "*filter\n-F nosuch\nCOMMIT\n", 1, "iptables-nft-restore: line 2 failed: No chain/target/match by that name.\n" },
        { LegacyRestore, "*filter\n-A nosuch -j ACCEPT\nCOMMIT\n", 1, "iptables-restore: line 2 failed\n" },
        { NftRestore, "*filter\n-A nosuch -j ACCEPT\nCOMMIT\n", 1, "iptables-nft-restore: line 2 failed: No chain/target/match by that name.\n" },
        { LegacyRestore, "*filter\n-I full 4 -j ACCEPT\nCOMMIT\n", 1, "iptables-restore: line 2 failed\n" },
        { NftRestore, "*filter\n-I full 4 -j ACCEPT\nCOMMIT\n", 1, "iptables-nft-restore: line 2 failed: Index of insertion too big.\n" },
        { NftRestore, "*filter\n-R full 3 -j ACCEPT\nCOMMIT\n", 1, "iptables-nft-restore: line 2 failed: Index of replacement too big.\n" },
        { NftRestore, "*filter\n-D full 3\nCOMMIT\n", 1, "iptables-nft-restore: line 2 failed: Index of deletion too big.\n" },
        { NftRestore, "*filter\n-D empty 1\nCOMMIT\n", 1, "iptables-nft-restore: line 2 failed: Index of deletion too big.\n" },
        { LegacyRestore, "*filter\n-D full -j RETURN\nCOMMIT\n", 1, "iptables-restore: line 2 failed\n" },
        { NftRestore, "*filter\n-D full -j RETURN\nCOMMIT\n", 1,
            "iptables-nft-restore: line 2 failed: Bad rule (does a matching rule exist in that chain?).\n" },
        { NftRestore, "*filter\n-N full\nCOMMIT\n", 1, "iptables-nft-restore: line 2 failed: Chain already exists.\n" },
        { LegacyRestore, "*filter\n-I full 0 -j ACCEPT\nCOMMIT\n", 2, LegacyPrefix + "Invalid rule number `0'\nError occurred at line: 2\n" + LegacyTry },
        { NftRestore, "*filter\n-A empty -j DROP\n-R empty -j ACCEPT\nCOMMIT\n", 2,
            NftPrefix + "-R requires a rule number\nError occurred at line: 3\n" + NftTry },
        { LegacyRestore, $"*filter\n:{TooLong} - [0:0]\nCOMMIT\n", 2,
            LegacyPrefix + $"Invalid chain name `{TooLong}' (28 chars max)\nError occurred at line: 2\n" + LegacyTry },
        { NftRestore, $"*filter\n:{TooLong} - [0:0]\nCOMMIT\n", 2,
            NftPrefix + $"chain name `{TooLong}' too long (must be under 29 chars)\nError occurred at line: 2\n" + NftTry },
        { LegacyRestore, $"*filter\n-N {TooLong}\nCOMMIT\n", 2,
            LegacyPrefix + $"chain name `{TooLong}' too long (must be under 29 chars)\nError occurred at line: 2\n" + LegacyTry },
        { LegacyRestore, $"*filter\n-A empty -j {TooLong}\nCOMMIT\n", 2,
            LegacyPrefix + $"Invalid target name `{TooLong}' (28 chars max)\nError occurred at line: 2\n" + LegacyTry },
        { NftRestore, "*filter\n:-foo - [0:0]\nCOMMIT\n", 2, NftPrefix + "chain name not allowed to start with `-'\nError occurred at line: 2\n" + NftTry },
        { LegacyRestore, "*filter\n-A empty -j ACCEPT\n", 1, "iptables-restore: COMMIT expected at line 3\n" },
        { NftRestore, "*filter\n-A empty -j ACCEPT\n\n\n", 1, "iptables-nft-restore: COMMIT expected at line 5\n" },
        { NftRestore, "*filter\n-A empty -j nosuch\n", 1, "iptables-nft-restore: COMMIT expected at line 3\n" },
        { LegacyRestore, "*bogus\n:x - [0:0]\nCOMMIT\n", 2,
            LegacyPrefix + "iptables-restore: unable to initialize table 'bogus'\nError occurred at line: 1\n" + LegacyTry },
        { NftRestore, "*bogus\n:x - [0:0]\nCOMMIT\n", 2,
            NftPrefix + "iptables-nft-restore: line 1 table name 'bogus' invalid\nError occurred at line: 1\n" + NftTry },
        { LegacyRestore, "*filter\n:empty DROP [0:0]\nCOMMIT\n", 1, LegacyPrefix + "Can't set policy `DROP' on `empty' line 2: Bad built-in chain name\n" },
        { LegacyRestore, "*filter\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n", 1,
            LegacyPrefix + "Can't set policy `ACCEPT' on `PREROUTING' line 2: Bad built-in chain name\n" },
        { LegacyRestore, "*filter\n:INPUT RETURN [0:0]\nCOMMIT\n", 1, LegacyPrefix + "Can't set policy `RETURN' on `INPUT' line 2: Bad policy name\n" },
        { NftRestore, "*filter\n:INPUT FOO [0:0]\nCOMMIT\n", 1, "iptables-nft-restore: line 2 failed: Bad policy name.\n" },
        { NftRestore, "*filter\n:v\nCOMMIT\n", 2, NftPrefix + "iptables-nft-restore: line 2 policy invalid\nError occurred at line: 2\n" + NftTry },
        { LegacyRestore, "-A empty -j ACCEPT\nCOMMIT\n", 1, "iptables-restore: line 1 failed\n" },
        { NftRestore, "COMMIT\n", 1, "iptables-nft-restore: line 1 failed\n" },
        { LegacyRestore, "*filter\n-A empty -j MASQUERADE\nCOMMIT\n", 1, "iptables-restore: line 3 failed\n" },
        { NftRestore, "*filter\n-A empty -j MASQUERADE\nCOMMIT\n", 4,
            NftPrefix + "\nline 2: RULE_APPEND failed (Invalid argument): rule in chain empty\n" },
        { NftRestore, "*filter\n-R full 1 -j CT --notrack\nCOMMIT\n", 4,
            NftPrefix + "\nline 2: RULE_REPLACE failed (Invalid argument): rule in chain full\n" },
        { NftRestore, "*filter\n-I empty ! -s 0.0.0.0/0 -j ACCEPT\nCOMMIT\n", 4,
            NftPrefix + "\nline 2: RULE_INSERT failed (Invalid argument): rule in chain empty\n" },
        { LegacyRestore, "*filter\n-A empty -j INPUT\nCOMMIT\n", 1, "iptables-restore: line 2 failed\n" },
        { NftRestore, "*filter\n-A empty -j INPUT\nCOMMIT\n", 4,
            NftPrefix + "\nline 2: RULE_APPEND failed (No such file or directory): rule in chain empty\n" },
        { NftRestore, "*filter\n-A empty -j QUEUE\nCOMMIT\n", 4,
            NftPrefix + "\nline 2: RULE_APPEND failed (No such file or directory): rule in chain empty\n" },
        { LegacyRestore, "*filter\n-A empty -j ACCEPT\n*nat\nCOMMIT\n", 2, "Bad argument `*nat'\nError occurred at line: 3\n" + LegacyTry },
        { LegacyRestore, "*filter\n:u - [0:0]\nCOMMIT", 2, "Bad argument `COMMIT'\nError occurred at line: 3\n" + LegacyTry },
        { NftRestore, "*filter\n-A empty -j ACCEPT\nCOMMIT \n", 2, "Bad argument `COMMIT'\nError occurred at line: 3\n" + NftTry },
        { LegacyRestore, "*filter\n-X empty extra\nCOMMIT\n", 2, "Bad argument `extra'\nError occurred at line: 2\n" + LegacyTry },
        { NftRestore, "*filter\n-m comment --comment x -j ACCEPT\nCOMMIT\n", 2, NftPrefix + "no command specified\nError occurred at line: 2\n" + NftTry },
        { LegacyRestore, "*filter\n-A empty -m comment --comment ab\"cd\"ef -j ACCEPT\nCOMMIT\n", 2,
            "Bad argument `ef'\nError occurred at line: 2\n" + LegacyTry },
        { NftRestore, "*filter\n-A empty -s 0.0.0.0/0 -s 10.0.0.2 -j ACCEPT\nCOMMIT\n", 2,
            NftPrefix + "multiple -s flags not allowed\nError occurred at line: 2\n" + NftTry },
        { LegacyRestore, "*filter\n-A empty -s 10.0.0.1 10.0.0.2 -j ACCEPT\nCOMMIT\n", 2, "Bad argument `10.0.0.2'\nError occurred at line: 2\n" + LegacyTry },
        { LegacyRestore, "*filter\n-A empty -j ACCEPT extra\nCOMMIT\n", 2, "Bad argument `extra'\nError occurred at line: 2\n" + LegacyTry },
        { NftRestore, "*filter\n-A empty -j LOG --log-prefix x y\nCOMMIT\n", 2, "Bad argument `y'\nError occurred at line: 2\n" + NftTry },
        { LegacyRestore, "*filter\n-A empty -s 10.0.0.1 --src 10.0.0.2 -j ACCEPT\nCOMMIT\n", 2,
            LegacyPrefix + "multiple -s flags not allowed\nError occurred at line: 2\n" + LegacyTry },
        { NftRestore, "*filter\n-A empty -s 10.0.0.300 -j ACCEPT\nCOMMIT\n", 2,
            NftPrefix + "host/network `10.0.0.300' not found\nError occurred at line: 2\n" + NftTry },
        { LegacyRestore, "*filter\n-A empty -d 10.0.0.0/33 -j ACCEPT\nCOMMIT\n", 2,
            LegacyPrefix + "invalid mask `33' specified\nError occurred at line: 2\n" + LegacyTry },
        { LegacyRestore, "*filter\n-A empty -m comment --comment \"open -j ACCEPT\nCOMMIT\n", 2,
            LegacyPrefix + "unbalanced double quote (the real tool would swallow the rest of the line)\nError occurred at line: 2\n" + LegacyTry },
    };

    [Theory]
    [MemberData(nameof(Rejections))]
    public async Task Restore_refuses_like_the_real_tool_and_changes_nothing(string restore, string input, int exitCode, string stderr)
    {
        var fake = await WithBaseAsync(restore);
        var before = fake.Snapshot(V4, "filter");

        var result = await RunAsync(fake, restore, input, "--noflush");

        Assert.Equal(stderr, result.StandardError);
        Assert.Equal(exitCode, result.ExitCode);
        Assert.Equal(string.Empty, result.StandardOutput);
        Assert.Equal(before, fake.Snapshot(V4, "filter"));
    }

    public static TheoryData<string, string> NftOnlyAcceptances => new()
    {
        { "*filter\n:empty DROP [0:0]\n-A empty -j ACCEPT\nCOMMIT\n", "empty" },
        { "*filter\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n", "PREROUTING" },
        { "*filter\n:u - [0:0]\nCOMMIT", "u" },
        { "*filter\n:t - [0:0]\n-A t -j TRACE\nCOMMIT\n", "t" },
    };

    [Theory]
    [MemberData(nameof(NftOnlyAcceptances))]
    public async Task Nft_accepts_what_legacy_refuses(string input, string chain)
    {
        var fake = await WithBaseAsync(NftRestore);

        await AssertRestoresAsync(fake, NftRestore, input);

        Assert.NotNull(fake.Chain(V4, "filter", chain));
        Assert.Null(fake.Policy(V4, "filter", chain));
    }

    [Fact]
    public async Task Legacy_accepts_what_nft_refuses()
    {
        var fake = await WithBaseAsync(LegacyRestore);

        await AssertRestoresAsync(fake, LegacyRestore, "*filter\n:-foo - [0:0]\n-A empty ! -s 0.0.0.0/0 -j QUEUE\nCOMMIT\n");

        Assert.Equal(["! -s 0.0.0.0/0 -j QUEUE"], fake.Chain(V4, "filter", "empty"));
        Assert.NotNull(fake.Chain(V4, "filter", "-foo"));
    }

    [Theory]
    [InlineData(LegacyRestore, 2, "iptables-restore v1.8.9 (legacy): Set felix-v4-gone doesn't exist.\n\nError occurred at line: 3\n" + LegacyTry)]
    [InlineData(NftRestore, 2, "iptables-nft-restore v1.8.9 (nf_tables): Set felix-v4-gone doesn't exist.\n\nError occurred at line: 3\n" + NftTry)]
    public async Task A_rule_naming_a_missing_ipset_is_refused_when_the_test_says_which_sets_exist(string restore, int exitCode, string stderr)
    {
        var fake = new FakeIptables(new FakeIptablesOptions { SetExists = name => name == "felix-v4-here" });

        var result = await RunAsync(fake, restore, """
            *filter
            -A INPUT -m set --match-set felix-v4-here src -j ACCEPT
            -A INPUT -m set --match-set felix-v4-gone src -j ACCEPT
            COMMIT

            """, "--noflush");

        Assert.Equal(exitCode, result.ExitCode);
        Assert.Equal(stderr, result.StandardError);
    }
}
