namespace Felix.Dataplane.Tests.Fakes;

/// <summary>The tool's messages and exit codes, inside restore (with a line number) and as single commands (without).</summary>
public sealed partial class FakeIpsetTests
{
    private const string LongName = "abcdefghijklmnopqrstuvwxyz012345";

    /// <summary>A failing line, the tool's message, and whether the kernel (not the tool) refused it.</summary>
    private static readonly (string Line, string Message, bool ByKernel)[] Errors =
    [
        ("create a hash:ip", "Set cannot be created: set with the same name already exists", true),
        ("create a hash:net -exist", "Set cannot be created: set with the same name already exists", true),
        ("create a hash:ip maxelem 10 -exist", "Set cannot be created: set with the same name already exists", true),
        ("add a 10.0.0.1", "Element cannot be added to the set: it's already added", true),
        ("del a 10.9.9.9", "Element cannot be deleted from the set: it's not added", true),
        ("del nosuch 10.0.0.1 -exist", "The set with the given name does not exist", false),
        ("flush nosuch -exist", "The set with the given name does not exist", true),
        ("add v6 10.0.0.1", "Syntax error: cannot parse 10.0.0.1: resolving to IPv6 address failed", false),
        ("add a ::1", "Syntax error: cannot parse ::1: resolving to IPv4 address failed", false),
        ("add a 0x0a.0.0.2", "Syntax error: cannot parse 0x0a.0.0.2: resolving to IPv4 address failed", false),
        ("add v6 fe80::1%eth0", "Syntax error: cannot parse fe80::1%eth0: resolving to IPv6 address failed", false),
        ("add n 2001:db8::/64", "Syntax error: '64' is out of range 0-32", false),
        ("add n6 2001:db8::/129", "Syntax error: '129' is out of range 0-128", false),
        ("add n6 10.0.0.0/8", "Syntax error: cannot parse 10.0.0.0: resolving to IPv6 address failed", false),
        ("add n6 2001:db8::1-2001:db8::5", "Syntax error: IP address or IP/cidr must be specified: 2001:db8::1-2001:db8::5", false),
        ("add v6 2001:db8::/126", "Syntax error: plain IP address must be supplied: 2001:db8::/126", false),
        ("add v6 2001:db8::1-2001:db8::3", "Syntax error: plain IP address must be supplied: 2001:db8::1-2001:db8::3", false),
        ("add a 10.0.0.1,80", "Syntax error: Elem separator in 10.0.0.1,80, but settype hash:ip supports none.", false),
        ("add n 10.0.0.0/0", "The value of the CIDR parameter of the IP address is invalid", true),
        ("add n6 2001:db8::/0", "The value of the CIDR parameter of the IP address is invalid", true),
        ("add a 10.0.0.0/0", "The value of the CIDR parameter of the IP address is invalid", true),
        ("add a 0.0.0.0", "Null-valued element, cannot be stored in a hash type of set", true),
        ("add a 0.0.0.0/31", "Null-valued element, cannot be stored in a hash type of set", true),
        ("add v6 ::", "Null-valued element, cannot be stored in a hash type of set", true),
        ($"create {LongName} hash:ip", $"Syntax error: setname '{LongName}' is longer than 31 characters", false),
        ($"add {LongName} 10.0.0.1", $"Syntax error: setname '{LongName}' is longer than 31 characters", false),
        ($"destroy {LongName}", $"Syntax error: setname '{LongName}' is longer than 31 characters", false),
        ("create x hash:ip family inet4", "Syntax error: unknown inet family inet4", false),
        ("create x hash:ip family INET6", "Syntax error: unknown inet family INET6", false),
        ("create x HASH:IP", "Syntax error: typename 'HASH:IP' is unknown", false),
        ("create x hash:net family inet hashsize 64 family inet6", "Syntax error: family already specified", false),
        ("create x hash:ip family inet -4", "Syntax error: -4 already specified", false),
        ("create x hash:ip maxelem 5 maxelem 6", "Syntax error: maxelem already specified", false),
        ("create x hash:ip hashsize abc", "Syntax error: 'abc' is invalid as number", false),
        ("create x hash:ip maxelem 4294967296", "Syntax error: '4294967296' is out of range 0-4294967295", false),
        ("create x hash:ip hashsize 2147483648", "Kernel error received: Cannot allocate memory", true),
        ("add ipp 10.0.0.1", "Syntax error: Second element is missing from 10.0.0.1.", false),
        ("swap a n", "The sets cannot be swapped: their type does not match", true),
        ("swap a v6", "The sets cannot be swapped: their type does not match", true),
        ("swap a nosuch", "Sets cannot be swapped: the second set does not exist", true),
        ("swap nosuch a", "The set with the given name does not exist", true),
        ("rename a n", "Set cannot be renamed: a set with the new name already exists", true),
        ("rename nosuch x", "The set with the given name does not exist", true),
    ];

    public static TheoryData<string, string, bool> RestoreErrors
    {
        get
        {
            var data = new TheoryData<string, string, bool>();
            foreach (var (line, message, byKernel) in Errors)
            {
                data.Add(line, message, byKernel);
            }
            return data;
        }
    }

    public static TheoryData<string, string> SingleCommandErrors
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var (line, message, _) in Errors)
            {
                data.Add(line, message);
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(RestoreErrors))]
    public async Task Restore_reports_the_tool_message_with_the_line_number_and_exits_1(string line, string message, bool byKernel)
    {
        var fake = await WithErrorBaseAsync();

        var result = await RestoreAsync(fake, $"# the failing line is line 3\nadd a 10.0.0.2\n{line}\nadd a 10.0.0.3\n");

        AssertFailed(result, 1, $"ipset v7.17: Error in line 3: {message}");
        // The add collected before a line the tool rejects itself never reaches the kernel.
        Assert.Equal(byKernel ? ["10.0.0.1", "10.0.0.2"] : ["10.0.0.1"], fake.Members("a"));
    }

    [Theory]
    [MemberData(nameof(SingleCommandErrors))]
    public async Task A_single_command_reports_the_same_message_without_a_line(string line, string message)
    {
        var fake = await WithErrorBaseAsync();

        var result = await RunAsync(fake, null, FakeIpsetCommandLine.Split(line));

        AssertFailed(result, 1, $"ipset v7.17: {message}");
        Assert.Equal(["10.0.0.1"], fake.Members("a"));
    }

    public static TheoryData<string, string> UsageErrors => new()
    {
        { "foo bar", "No command specified: unknown argument foo" },
        { "add", "Missing mandatory argument to command add" },
        { "add a", "Missing second mandatory argument to command add" },
        { "create x", "Missing second mandatory argument to command create" },
        { "swap a", "Missing second mandatory argument to command swap" },
        { "rename a", "Missing second mandatory argument to command rename" },
        { "add a 10.0.0.1 extra", "Unknown argument: `extra'" },
        { "add a 10.0.0.1 -exist extra", "Unknown argument: `extra'" },
        { "create x hash:ip foo 5", "Unknown argument: `foo'" },
        { "create x list:set family inet", "Unknown argument: `family'" },
        { "create x hash:ip size 5", "Unknown argument: `size'" },
        { "create x hash:ip hashsize", "Missing mandatory argument of option `hashsize'" },
        { "destroy a b", "Unknown argument b" },
        { "flush a b", "Unknown argument b" },
        { "swap a b c", "Unknown argument c" },
        { "rename a c d", "Unknown argument d" },
    };

    [Theory]
    [MemberData(nameof(UsageErrors))]
    public async Task Usage_errors_exit_2_without_a_line_number_in_restore_and_alone(string line, string message)
    {
        var fake = await WithErrorBaseAsync();
        var expected = $"ipset v7.17: {message}\nTry `ipset help' for more information.";

        var restore = await RestoreAsync(fake, $"add a 10.0.0.2\n{line}\n");
        var single = await RunAsync(fake, null, FakeIpsetCommandLine.Split(line));

        AssertFailed(restore, 2, expected);
        AssertFailed(single, 2, expected);
        Assert.Equal(["10.0.0.1"], fake.Members("a"));
    }

    [Theory]
    [InlineData(new string[0], "No command specified.")]
    [InlineData(new[] { "bogus" }, "No command specified: unknown argument bogus")]
    [InlineData(new[] { "list", "a", "b" }, "Unknown argument b")]
    [InlineData(new[] { "save", "a", "b" }, "Unknown argument b")]
    [InlineData(new[] { "restore", "extra" }, "Unknown argument extra")]
    [InlineData(new[] { "list", "-o" }, "Missing mandatory argument to option -o")]
    public async Task Command_line_usage_errors_exit_2(string[] arguments, string message)
    {
        var fake = await WithErrorBaseAsync();

        var result = await RunAsync(fake, "", arguments);

        AssertFailed(result, 2, $"ipset v7.17: {message}\nTry `ipset help' for more information.");
    }

    [Theory]
    [InlineData("list", "nosuch")]
    [InlineData("save", "nosuch")]
    [InlineData("flush", "nosuch")]
    [InlineData("destroy", "nosuch")]
    public async Task Naming_a_missing_set_fails_with_exit_1(string command, string set)
    {
        var result = await RunAsync(new FakeIpset(), null, command, set);

        AssertFailed(result, 1, "ipset v7.17: The set with the given name does not exist");
    }

    [Theory]
    [InlineData("create x hash:ip timeout 5")]
    [InlineData("create x bitmap:port range 1-10")]
    [InlineData("add n 10.0.0.0/8 nomatch")]
    [InlineData("add ipp 10.0.0.1,http")]
    [InlineData("add ipp 10.0.0.1,icmp:8")]
    [InlineData("test a 10.0.0.1")]
    public async Task What_the_fake_does_not_model_fails_loudly_with_exit_2(string line)
    {
        var fake = await WithErrorBaseAsync();

        var result = await RestoreAsync(fake, line + "\n");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("FakeIpset does not model ", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hash_set_holds_at_most_maxelem_members_even_under_exist()
    {
        var fake = new FakeIpset();
        await AssertRestoresAsync(fake, "create h3 hash:ip hashsize 64 maxelem 2\n");

        var full = await RestoreAsync(fake, "add h3 10.0.0.1\nadd h3 10.0.0.2\nadd h3 10.0.0.3\nadd h3 10.0.0.4\n");
        var existing = await RestoreAsync(fake, "add h3 10.0.0.2 -exist\n");
        var fresh = await RestoreAsync(fake, "add h3 10.0.0.5 -exist\n");

        AssertFailed(full, 1, "ipset v7.17: Error in line 3: Hash is full, cannot add more elements");
        Assert.Equal(0, existing.ExitCode);
        AssertFailed(fresh, 1, "ipset v7.17: Error in line 1: Hash is full, cannot add more elements");
        Assert.Equal(["10.0.0.1", "10.0.0.2"], fake.Members("h3"));
    }

    [Fact]
    public async Task A_port_beyond_65535_gets_the_tools_three_line_message_without_a_line_number()
    {
        var fake = await WithErrorBaseAsync();
        const string expected =
            "ipset v7.17: Syntax error: '65536' is out of range 0-65535\nSyntax error: 'tcp' is invalid as number\ncannot parse '65536' as a tcp port";

        var single = await RunAsync(fake, null, "add", "ipp", "10.0.0.1,65536");
        var restore = await RestoreAsync(fake, "add a 10.0.0.2\nadd ipp 10.0.0.1,65536\n");
        var udp = await RunAsync(fake, null, "add", "ipp", "10.0.0.1,udp:70000");

        AssertFailed(single, 1, expected);
        AssertFailed(restore, 1, expected);
        AssertFailed(udp, 1,
            "ipset v7.17: Syntax error: '70000' is out of range 0-65535\nSyntax error: 'udp' is invalid as number\ncannot parse '70000' as a udp port");
        Assert.Equal(["10.0.0.1"], fake.Members("a"));
    }

    /// <summary>Sets a (10.0.0.1), v6, n, n6 and ipp, for the error experiments.</summary>
    private static async Task<FakeIpset> WithErrorBaseAsync()
    {
        var fake = new FakeIpset();
        await AssertRestoresAsync(fake, """
            create a hash:ip
            add a 10.0.0.1
            create v6 hash:ip family inet6
            create n hash:net
            create n6 hash:net family inet6
            create ipp hash:ip,port

            """);
        return fake;
    }
}
