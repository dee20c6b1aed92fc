using Felix.Dataplane.Exec;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// The fake is only worth its tests if it behaves like the real tool: every expectation here was
/// first observed with ipset 7.17 on Linux 6.x inside a throwaway network namespace.
/// </summary>
public sealed partial class FakeIpsetTests
{
    private const string FelixSets = """
        create felix-v4-a hash:ip family inet
        create felix-v6-a hash:ip family inet6 hashsize 2048 maxelem 1000
        create felix-all-ipam-pools hash:net family inet
        create felix-all-ipam-pools-v6 hash:net family inet6

        """;

    [Fact]
    public async Task Save_prints_a_create_line_with_the_kernel_defaults_then_one_add_line_per_member()
    {
        var fake = new FakeIpset();

        await AssertRestoresAsync(fake, FelixSets + "add felix-v4-a 10.0.0.2\nadd felix-v4-a 10.0.0.1\n");
        var save = await RunAsync(fake, null, "save");

        Assert.Equal(0, save.ExitCode);
        Assert.Equal("", save.StandardError);
        Assert.Equal($"""
            create felix-v4-a hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval {InitVal(fake, "felix-v4-a")}
            add felix-v4-a 10.0.0.1
            add felix-v4-a 10.0.0.2
            create felix-v6-a hash:ip family inet6 hashsize 2048 maxelem 1000 bucketsize 12 initval {InitVal(fake, "felix-v6-a")}
            create felix-all-ipam-pools hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval {InitVal(fake, "felix-all-ipam-pools")}
            create felix-all-ipam-pools-v6 hash:net family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval {InitVal(fake, "felix-all-ipam-pools-v6")}

            """, save.StandardOutput);
        Assert.Equal(save.StandardOutput, fake.Snapshot());
    }

    [Fact]
    public async Task The_hash_seed_is_fixed_per_name_so_output_repeats_but_differs_between_sets()
    {
        var first = new FakeIpset();
        var second = new FakeIpset();

        await AssertRestoresAsync(first, FelixSets);
        await AssertRestoresAsync(second, FelixSets);

        Assert.Equal(first.Snapshot(), second.Snapshot());
        Assert.Matches("^0x[0-9a-f]{8}$", InitVal(first, "felix-v4-a"));
        Assert.NotEqual(InitVal(first, "felix-v4-a"), InitVal(first, "felix-v6-a"));
    }

    [Fact]
    public async Task Members_are_printed_as_the_tool_prints_them()
    {
        var fake = new FakeIpset();

        await AssertRestoresAsync(fake, FelixSets + """
            add felix-v6-a 2001:0DB8:0:0::0002
            add felix-v6-a ::a00:1
            add felix-v6-a ::ffff:0:1
            add felix-v6-a 2001:db8:0:0:1:0:0:1
            add felix-all-ipam-pools 10.1.2.77/24
            add felix-all-ipam-pools 10.1.2.3/32
            add felix-all-ipam-pools 10.1.2.4
            add felix-all-ipam-pools-v6 2001:DB8:0::5/64
            add felix-all-ipam-pools-v6 2001:db8::1/128
            add felix-v4-a 10.1
            add felix-v4-a 010.0.0.1
            add felix-v4-a 4294967295

            """);

        // glibc prints IPv4-compatible and IPv4-mapped addresses with a dotted tail, unlike .NET.
        Assert.Equal(["::10.0.0.1", "::ffff:0.0.0.1", "2001:db8::2", "2001:db8::1:0:0:1"], fake.Members("felix-v6-a"));
        // A network is stored masked; a host network prints without its prefix.
        Assert.Equal(["10.1.2.0/24", "10.1.2.3", "10.1.2.4"], fake.Members("felix-all-ipam-pools"));
        Assert.Equal(["2001:db8::/64", "2001:db8::1"], fake.Members("felix-all-ipam-pools-v6"));
        // inet_aton forms: "10.1" is 10.0.0.1, a leading 0 makes a part octal.
        Assert.Equal(["8.0.0.1", "10.0.0.1", "255.255.255.255"], fake.Members("felix-v4-a"));
    }

    [Fact]
    public async Task A_cidr_or_range_added_to_an_IPv4_hash_ip_set_adds_every_address_and_a_range_to_hash_net_adds_covering_networks()
    {
        var fake = new FakeIpset();

        await AssertRestoresAsync(fake, FelixSets + """
            add felix-v4-a 10.0.0.0/30
            add felix-v4-a 10.0.0.12-10.0.0.10
            add felix-all-ipam-pools 10.0.0.0-10.0.0.5

            """);

        Assert.Equal(["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.10", "10.0.0.11", "10.0.0.12"], fake.Members("felix-v4-a"));
        Assert.Equal(["10.0.0.0/30", "10.0.0.4/31"], fake.Members("felix-all-ipam-pools"));
    }

    [Fact]
    public async Task Create_rounds_hashsize_up_to_a_power_of_two_of_at_least_64_and_bucketsize_to_an_even_number_up_to_12()
    {
        var fake = new FakeIpset();

        await AssertRestoresAsync(fake, """
            create h1 hash:ip hashsize 1000
            create h2 hash:ip hashsize 10 bucketsize 5
            create h3 hash:ip hashsize 0 bucketsize 1 maxelem 0
            create h4 hash:ip hashsize 0x400 maxelem 010 bucketsize 64 initval 0x1234
            create h5 hash:ip family ipv6
            create h6 hash:ip -6
            create l1 list:set size 2

            """);

        Assert.Equal("""
            create h1 hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval *
            create h2 hash:ip family inet hashsize 64 maxelem 65536 bucketsize 6 initval *
            create h3 hash:ip family inet hashsize 64 maxelem 0 bucketsize 2 initval *
            create h4 hash:ip family inet hashsize 1024 maxelem 8 bucketsize 12 initval 0x00001234
            create h5 hash:ip family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval *
            create h6 hash:ip family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval *
            create l1 list:set size 4

            """, MaskInitVals(fake.Snapshot(), keep: "0x00001234"));
    }

    [Fact]
    public async Task Foreign_types_print_their_own_headers_and_members_and_list_sets_come_last()
    {
        var fake = new FakeIpset();

        await AssertRestoresAsync(fake, """
            create ipp hash:ip,port
            add ipp 10.0.0.1,80
            add ipp 10.0.0.1,udp:53
            add ipp 10.0.0.1,sctp:5
            create L list:set
            create a hash:ip
            add L ipp
            add L a

            """);

        Assert.Equal($"""
            create ipp hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval {InitVal(fake, "ipp")}
            add ipp 10.0.0.1,tcp:80
            add ipp 10.0.0.1,udp:53
            add ipp 10.0.0.1,sctp:5
            create a hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval {InitVal(fake, "a")}
            create L list:set size 8
            add L ipp
            add L a

            """, fake.Snapshot());
    }

    private static Task<CommandResult> RunAsync(FakeIpset fake, string? input, params string[] arguments) =>
        fake.RunAsync(new Command("ipset", arguments, input, TimeSpan.FromSeconds(10)), CancellationToken.None);

    private static Task<CommandResult> RestoreAsync(FakeIpset fake, string input, params string[] options) =>
        RunAsync(fake, input, ["restore", .. options]);

    private static async Task AssertRestoresAsync(FakeIpset fake, string input, params string[] options)
    {
        var result = await RestoreAsync(fake, input, options);
        Assert.True(result.Succeeded, $"ipset restore exited {result.ExitCode}: {result.StandardError}");
        Assert.Equal("", result.StandardOutput + result.StandardError);
    }

    /// <summary>Asserts the run failed with <paramref name="exitCode"/> and exactly <paramref name="stderr"/> (a newline is added).</summary>
    private static void AssertFailed(CommandResult result, int exitCode, string stderr)
    {
        Assert.Equal((exitCode, stderr + "\n"), (result.ExitCode, result.StandardError));
        Assert.Equal("", result.StandardOutput);
    }

    private static string InitVal(FakeIpset fake, string set) =>
        fake.Snapshot().Split('\n').Single(line => line.StartsWith($"create {set} ", StringComparison.Ordinal)).Split(' ')[^1];

    private static string MaskInitVals(string text, string keep) =>
        System.Text.RegularExpressions.Regex.Replace(text, "initval (0x[0-9a-f]{8})", m => m.Groups[1].Value == keep ? m.Value : "initval *");
}
