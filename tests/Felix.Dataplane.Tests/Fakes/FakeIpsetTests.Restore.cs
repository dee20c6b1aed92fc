namespace Felix.Dataplane.Tests.Fakes;

/// <summary>A restore is no transaction: which of its lines stay applied when one fails.</summary>
public sealed partial class FakeIpsetTests
{
    [Fact]
    public async Task A_failing_line_stops_the_run_and_lines_sent_before_it_stay_applied()
    {
        var fake = new FakeIpset();

        var result = await RestoreAsync(fake, """
            create felix-v4-b hash:ip
            create felix-v4-c hash:ip
            add felix-v4-c 10.0.0.9
            destroy nosuch
            add felix-v4-b 10.0.0.10

            """);

        AssertFailed(result, 1, "ipset v7.17: Error in line 4: The set with the given name does not exist");
        Assert.Equal(["felix-v4-b", "felix-v4-c"], fake.SetNames());
        Assert.Equal(["10.0.0.9"], fake.Members("felix-v4-c"));
        Assert.Equal([], fake.Members("felix-v4-b"));
    }

    [Fact]
    public async Task A_line_the_tool_rejects_itself_drops_the_add_lines_collected_before_it()
    {
        var fake = new FakeIpset();
        fake.CreateSet("s");

        var missingSet = await RestoreAsync(fake, "add s 10.0.0.6\nadd nosuch 10.0.0.1\n");
        var badAddress = await RestoreAsync(fake, "add s 10.0.0.4\nadd s 2001::1\nadd s 10.0.0.5\n");
        var badType = await RestoreAsync(fake, "add s 10.0.0.7\ncreate bad hash:foo\n");
        var usage = await RestoreAsync(fake, "add s 10.0.0.3\nadd s 10.0.0.8 extra\n");

        AssertFailed(missingSet, 1, "ipset v7.17: Error in line 2: The set with the given name does not exist");
        AssertFailed(badAddress, 1, "ipset v7.17: Error in line 2: Syntax error: cannot parse 2001::1: resolving to IPv4 address failed");
        AssertFailed(badType, 1, "ipset v7.17: Error in line 2: Syntax error: typename 'hash:foo' is unknown");
        AssertFailed(usage, 2, "ipset v7.17: Unknown argument: `extra'\nTry `ipset help' for more information.");
        Assert.Equal([], fake.Members("s"));
    }

    [Fact]
    public async Task A_kernel_error_keeps_the_collected_lines_before_the_failing_one_and_drops_those_after()
    {
        var fake = new FakeIpset();
        fake.CreateSet("m");
        fake.CreateSet("n", "hash:net");

        var add = await RestoreAsync(fake, "add m 10.9.0.1\nadd m 10.0.0.1\nadd m 10.9.0.1\nadd m 10.9.0.3\n");
        var otherSet = await RestoreAsync(fake, "add m 10.0.0.11\nadd n 10.1.0.0/16\nadd n 10.2.0.0/16\nadd n 10.2.0.0/16\n");
        var delete = await RestoreAsync(fake, "del m 10.9.0.1\ndel m 10.9.0.7\ndel m 10.0.0.1\n");
        var beforeCreate = await RestoreAsync(fake, "add m 10.0.0.11\ncreate z hash:ip\n");

        AssertFailed(add, 1, "ipset v7.17: Error in line 3: Element cannot be added to the set: it's already added");
        AssertFailed(otherSet, 1, "ipset v7.17: Error in line 4: Element cannot be added to the set: it's already added");
        AssertFailed(delete, 1, "ipset v7.17: Error in line 2: Element cannot be deleted from the set: it's not added");
        AssertFailed(beforeCreate, 1, "ipset v7.17: Error in line 1: Element cannot be added to the set: it's already added");
        Assert.Equal(["10.0.0.1", "10.0.0.11"], fake.Members("m"));
        Assert.Equal(["10.1.0.0/16", "10.2.0.0/16"], fake.Members("n"));
        Assert.False(fake.Exists("z"));
    }

    [Fact]
    public async Task Lines_the_kernel_runs_alone_send_the_collected_lines_first()
    {
        var fake = new FakeIpset();
        fake.CreateSet("s");

        var create = await RestoreAsync(fake, "add s 10.0.0.8\ncreate s hash:ip\n");
        var destroy = await RestoreAsync(fake, "add s 10.0.0.1\ndestroy nosuch\n");

        AssertFailed(create, 1, "ipset v7.17: Error in line 2: Set cannot be created: set with the same name already exists");
        AssertFailed(destroy, 1, "ipset v7.17: Error in line 2: The set with the given name does not exist");
        Assert.Equal(["10.0.0.1", "10.0.0.8"], fake.Members("s"));
    }

    [Fact]
    public async Task Commit_sends_the_collected_lines_and_quit_ends_the_run_without_sending_them()
    {
        var fake = new FakeIpset();
        fake.CreateSet("a");

        var commit = await RestoreAsync(fake, "add a 10.0.1.1\nCOMMIT\nadd a bogus\n");
        var quit = await RestoreAsync(fake, "add a 10.0.1.2\nquit\nadd nosuch 1.2.3.4\n");

        AssertFailed(commit, 1, "ipset v7.17: Error in line 3: Syntax error: cannot parse bogus: resolving to IPv4 address failed");
        Assert.Equal((0, ""), (quit.ExitCode, quit.StandardError));
        Assert.Equal(["10.0.1.1"], fake.Members("a"));
    }

    [Theory]
    [InlineData("m", "hash:ip", "inet", "10.8.{0}.{1}", 167)]
    [InlineData("felix-v4-abcdefghijklmnopqrstuv", "hash:ip", "inet", "10.8.{0}.{1}", 166)]
    [InlineData("m6", "hash:ip", "inet6", "2001:db8::{0}:{1}", 111)]
    [InlineData("n4", "hash:net", "inet", "10.{0}.{1}.0/24", 125)]
    [InlineData("n4", "hash:net", "inet", "10.8.{0}.{1}", 167)]
    [InlineData("n6", "hash:net", "inet6", "2001:db8:{0}:{1}::/64", 91)]
    [InlineData("felix-n6-abcdefghijklmnopqrstuv", "hash:net", "inet6", "2001:db8:{0}:{1}::/64", 90)]
    [InlineData("m", "hash:ip", "inet", "10.8.{0}.{1}/32", 125)]
    [InlineData("m", "hash:ip", "inet", "10.8.{0}.{1}-10.8.{0}.{1}", 111)]
    public async Task One_message_holds_a_page_of_elements_so_a_bad_line_drops_only_the_unsent_rest(
        string set, string type, string family, string pattern, int perMessage)
    {
        var fake = new FakeIpset();
        await AssertRestoresAsync(fake, $"create {set} {type} family {family}\n");
        var lines = Enumerable.Range(1, 400).Select(i => $"add {set} {string.Format(System.Globalization.CultureInfo.InvariantCulture, pattern, i / 250, (i % 250) + 1)}");

        var result = await RestoreAsync(fake, string.Join("\n", lines) + $"\nadd {set} bogus\n");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Error in line 401: Syntax error: cannot parse bogus", result.StandardError, StringComparison.Ordinal);
        Assert.Equal(399 / perMessage * perMessage, fake.Members(set)!.Count);
    }

    [Theory]
    [InlineData(200, 100)]
    [InlineData(200, 180)]
    [InlineData(400, 350)]
    public async Task A_kernel_error_in_any_message_keeps_every_line_before_it_and_none_after(int lines, int duplicate)
    {
        var fake = new FakeIpset();
        fake.CreateSet("m");
        var script = Enumerable.Range(1, lines).Select(i => i == duplicate ? 1 : i).Select(i => $"add m 10.6.{i / 250}.{(i % 250) + 1}\n");

        var result = await RestoreAsync(fake, string.Concat(script));

        AssertFailed(result, 1, $"ipset v7.17: Error in line {duplicate}: Element cannot be added to the set: it's already added");
        Assert.Equal(duplicate - 1, fake.Members("m")!.Count);
    }

    [Fact]
    public async Task Exist_on_a_line_stays_in_force_but_a_message_keeps_the_flag_it_was_started_with()
    {
        var fake = new FakeIpset();
        fake.CreateSet("s");
        fake.CreateSet("t");
        fake.AddMember("s", "10.0.0.1");

        var firstLine = await RestoreAsync(fake, "add s 10.0.0.2 -exist\nadd s 10.0.0.1\n");
        var laterLine = await RestoreAsync(fake, "add s 10.0.0.3\nadd s 10.0.0.1 -exist\n");
        var otherSet = await RestoreAsync(fake, "add t 10.0.0.4 -exist\nadd s 10.0.0.1\n");
        var acrossCommit = await RestoreAsync(fake, "create u hash:ip -exist\nCOMMIT\nadd s 10.0.0.1\n");
        var flagFirst = await RestoreAsync(fake, "-! add s 10.0.0.1\nadd -exist s 10.0.0.1\n");

        Assert.Equal(0, firstLine.ExitCode);
        AssertFailed(laterLine, 1, "ipset v7.17: Error in line 2: Element cannot be added to the set: it's already added");
        Assert.Equal(0, otherSet.ExitCode);
        Assert.Equal(0, acrossCommit.ExitCode);
        Assert.Equal(0, flagFirst.ExitCode);
        Assert.Equal(["10.0.0.1", "10.0.0.2", "10.0.0.3"], fake.Members("s"));
    }

    [Theory]
    [InlineData("-exist")]
    [InlineData("-!")]
    public async Task Exist_on_the_command_line_forgives_existing_and_missing_elements_and_sets(string flag)
    {
        var fake = new FakeIpset();
        fake.CreateSet("s");
        fake.AddMember("s", "10.0.0.9");

        await AssertRestoresAsync(fake, "create s hash:ip hashsize 4096 bucketsize 4\nadd s 10.0.0.9\ndel s 10.9.9.9\ndestroy nosuch\n", flag);

        Assert.Equal(["10.0.0.9"], fake.Members("s"));
        Assert.Equal(1024, fake.Describe("s")!.HashSize);
        Assert.Contains(" bucketsize 12 ", fake.Snapshot(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_parses_elements_for_the_family_its_own_create_named_even_when_exist_kept_the_other()
    {
        var fake = new FakeIpset();
        fake.CreateSet("s");

        var asV6 = await RestoreAsync(fake, "create s hash:ip family inet6 -exist\nadd s 10.0.0.1\n");
        var refused = await RestoreAsync(fake, "add s 10.0.0.2\ncreate s hash:ip family inet6 -exist\nadd s ::1\n");
        var renamed = await RestoreAsync(fake, "create s hash:ip family inet6 -exist\nrename s s2\nadd s2 10.0.0.1\n");
        var forgotten = await RestoreAsync(fake, "create s2 hash:ip family inet6 -exist\nflush\ndestroy\ncreate s hash:ip\nadd s 10.0.0.3\n");
        var nextRun = await RestoreAsync(fake, "add s 10.0.0.4\n");

        AssertFailed(asV6, 1, "ipset v7.17: Error in line 2: Syntax error: cannot parse 10.0.0.1: resolving to IPv6 address failed");
        AssertFailed(refused, 1, "ipset v7.17: Error in line 3: Kernel error received: ipset protocol error");
        AssertFailed(renamed, 1, "ipset v7.17: Error in line 3: Syntax error: cannot parse 10.0.0.1: resolving to IPv6 address failed");
        Assert.Equal((0, 0), (forgotten.ExitCode, nextRun.ExitCode));
        Assert.Equal(["10.0.0.3", "10.0.0.4"], fake.Members("s"));
        Assert.Equal(IpVersion.V4, fake.Describe("s")!.Family);
    }

    [Theory]
    [InlineData("hash:ip", "10.0.0.1", "Kernel error received: ipset protocol error")]
    [InlineData("hash:ip", "10.0.0.1/32", "The value of the CIDR parameter of the IP address is invalid")]
    [InlineData("hash:ip", "10.0.0.1-10.0.0.2", "Range is not supported in the \"net\" component of the element")]
    [InlineData("hash:net", "10.0.0.0/24", "Kernel error received: ipset protocol error")]
    [InlineData("hash:net", "10.0.0.0-10.0.0.5", "Range is not supported in the \"net\" component of the element")]
    public async Task An_IPv6_set_refuses_an_element_parsed_as_IPv4_by_what_it_checks_first(string type, string element, string message)
    {
        var fake = new FakeIpset();
        fake.CreateSet("x", type, IpVersion.V6);

        var add = await RestoreAsync(fake, $"create x {type} -exist\nadd x {element}\n");
        var del = await RestoreAsync(fake, $"create x {type} -exist\ndel x {element}\n");

        AssertFailed(add, 1, $"ipset v7.17: Error in line 2: {message}");
        AssertFailed(del, 1, $"ipset v7.17: Error in line 2: {message}");
    }

    [Fact]
    public async Task Blank_and_comment_lines_are_skipped_but_counted_and_blanks_of_any_kind_separate_words()
    {
        var fake = new FakeIpset();

        var result = await RestoreAsync(fake, "# comment\n\ncreate a hash:ip\r\n   \n  # indented\n  add\ta   10.0.0.3  \nadd a 10.0.0.5\nadd nosuch 10.0.0.1");

        AssertFailed(result, 1, "ipset v7.17: Error in line 8: The set with the given name does not exist");
        Assert.Equal([], fake.Members("a"));
        Assert.Equal(4, FakeIpset.CountLines("# comment\n\ncreate a hash:ip\n  add a 10.0.0.3\nCOMMIT\nadd a 10.0.0.5\nquit\nadd a 1.2.3.4\n"));
    }
}
