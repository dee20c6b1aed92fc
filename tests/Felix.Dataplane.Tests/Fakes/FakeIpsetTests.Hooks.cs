using Felix.Dataplane.Exec;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>What tests use the fake with: the call log, injected failures, the concurrent-change hook and state helpers.</summary>
public sealed partial class FakeIpsetTests
{
    [Fact]
    public async Task Calls_record_every_command_with_its_input_and_result_and_lines_count_only_commands()
    {
        var fake = new FakeIpset();
        const string input = "# header\ncreate a hash:ip\n\nadd a 10.0.0.1\nCOMMIT\n";

        await AssertRestoresAsync(fake, input);
        await RunAsync(fake, null, "list", "-n");
        await AssertRestoresAsync(fake, "add a 10.0.0.2\n", "-exist");

        Assert.Collection(fake.Calls,
            call =>
            {
                Assert.Equal("restore", call.Subcommand);
                Assert.Equal(input, call.Command.StandardInput?.ToString());
                Assert.Equal(0, call.Result!.ExitCode);
            },
            call =>
            {
                Assert.Equal("list", call.Subcommand);
                Assert.Equal("a\n", call.Result!.StandardOutput);
            },
            call => Assert.Equal("restore", call.Subcommand));
        Assert.Equal([input, "add a 10.0.0.2\n"], fake.RestoreInputs);
        Assert.Equal(3, fake.LinesExecuted);
    }

    [Theory]
    [InlineData("/usr/sbin/iptables")]
    [InlineData("ipset6")]
    public async Task Another_program_throws_as_a_program_that_cannot_be_started(string program)
    {
        var fake = new FakeIpset();

        var thrown = await Assert.ThrowsAsync<CommandException>(() =>
            fake.RunAsync(new Command(program, ["list"], null, TimeSpan.FromSeconds(1)), CancellationToken.None));

        Assert.Contains(program, thrown.Message, StringComparison.Ordinal);
        Assert.Null(Assert.Single(fake.Calls).Result);
    }

    [Fact]
    public async Task The_program_may_be_named_by_path()
    {
        var fake = new FakeIpset();

        var result = await fake.RunAsync(new Command("/usr/sbin/ipset", ["create", "a", "hash:ip"], null, TimeSpan.FromSeconds(1)), CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.True(fake.Exists("a"));
    }

    [Fact]
    public async Task A_cancelled_call_throws_before_doing_anything()
    {
        var fake = new FakeIpset();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            fake.RunAsync(new Command("ipset", ["restore"], "create a hash:ip\n", TimeSpan.FromSeconds(1)), cancelled.Token));

        Assert.False(fake.Exists("a"));
        Assert.Empty(fake.Calls);
    }

    [Fact]
    public async Task FailNext_fails_that_many_runs_without_changing_anything_then_runs_normally()
    {
        var fake = new FakeIpset();
        var beforeRestoreRuns = 0;
        fake.BeforeRestore = _ => beforeRestoreRuns++;
        fake.FailNext(2, "ipset v7.17: Error in line 1: boom\n");

        var first = await RestoreAsync(fake, "create a hash:ip\n");
        var second = await RunAsync(fake, null, "save");
        var third = await RestoreAsync(fake, "create a hash:ip\n");

        Assert.Equal((1, "ipset v7.17: Error in line 1: boom\n"), (first.ExitCode, first.StandardError));
        Assert.Equal(1, second.ExitCode);
        Assert.Equal(0, third.ExitCode);
        Assert.Equal(1, beforeRestoreRuns);
        Assert.Equal(3, fake.Calls.Count);
        Assert.True(fake.Exists("a"));
    }

    [Fact]
    public async Task FailNext_for_one_command_lets_the_others_run()
    {
        var fake = new FakeIpset();
        fake.FailNext(1, command: "restore");

        var save = await RunAsync(fake, null, "save");
        var restore = await RestoreAsync(fake, "create a hash:ip\n");
        var again = await RestoreAsync(fake, "create a hash:ip\n");

        Assert.Equal(0, save.ExitCode);
        Assert.Equal((1, "ipset v7.17: injected failure\n"), (restore.ExitCode, restore.StandardError));
        Assert.Equal(0, again.ExitCode);
    }

    [Fact]
    public async Task BeforeRestore_changes_the_sets_just_before_the_restore_reads_them()
    {
        var fake = new FakeIpset();
        fake.CreateSet("felix-v4-x");
        fake.BeforeRestore = command =>
        {
            Assert.Equal("add felix-v4-x 10.0.0.1\n", command.StandardInput?.ToString());
            fake.AddMember("felix-v4-x", "10.0.0.1");
        };

        var result = await RestoreAsync(fake, "add felix-v4-x 10.0.0.1\n");
        var listed = await RunAsync(fake, null, "list");

        AssertFailed(result, 1, "ipset v7.17: Error in line 1: Element cannot be added to the set: it's already added");
        Assert.Equal(0, listed.ExitCode);
    }

    [Fact]
    public async Task A_throwing_BeforeRestore_leaves_RunAsync_and_changes_nothing()
    {
        var fake = new FakeIpset();
        fake.BeforeRestore = _ => throw new CommandException("ipset timed out");

        await Assert.ThrowsAsync<CommandException>(() => RestoreAsync(fake, "create a hash:ip\n"));

        Assert.False(fake.Exists("a"));
    }

    [Fact]
    public void State_helpers_apply_the_kernel_rules_and_throw_where_the_tool_fails()
    {
        var fake = new FakeIpset();
        fake.CreateSet("felix-all-ipam-pools", "hash:net");
        fake.CreateSet("felix-v6-x", family: IpVersion.V6, maxElem: 1);

        fake.AddMember("felix-all-ipam-pools", "10.65.0.7/16");
        fake.AddMember("felix-v6-x", "2001:DB8::1");
        fake.SetReferences("felix-v6-x", 1);

        Assert.Equal(["10.65.0.0/16"], fake.Members("felix-all-ipam-pools"));
        Assert.Equal(["2001:db8::1"], fake.Members("felix-v6-x"));
        Assert.Equal(1, fake.References("felix-v6-x"));
        Assert.Null(fake.Members("nosuch"));
        Assert.Null(fake.References("nosuch"));
        Assert.Null(fake.Describe("nosuch"));
        Assert.Equal(["felix-all-ipam-pools", "felix-v6-x"], fake.SetNames());
        Assert.Equal("Hash is full, cannot add more elements", Assert.Throws<InvalidOperationException>(() => fake.AddMember("felix-v6-x", "::2")).Message);
        Assert.Throws<InvalidOperationException>(() => fake.AddMember("felix-v6-x", "10.0.0.1"));
        Assert.Throws<InvalidOperationException>(() => fake.AddMember("nosuch", "10.0.0.1"));
        Assert.Throws<InvalidOperationException>(() => fake.CreateSet("felix-v6-x"));
        Assert.Throws<InvalidOperationException>(() => fake.CreateSet(LongName));
        Assert.Throws<InvalidOperationException>(() => fake.DeleteMember("felix-all-ipam-pools", "10.65.0.0/24"));
        Assert.Throws<InvalidOperationException>(() => fake.DestroySet("felix-v6-x"));
        Assert.Throws<ArgumentException>(() => fake.CreateSet("x", "bitmap:port"));

        fake.DeleteMember("felix-all-ipam-pools", "10.65.0.0/16");
        fake.FlushSet("felix-v6-x");
        fake.SetReferences("felix-v6-x", 0);
        fake.DestroySet("felix-v6-x");
        Assert.Equal([], fake.Members("felix-all-ipam-pools"));
        Assert.False(fake.Exists("felix-v6-x"));
    }
}
