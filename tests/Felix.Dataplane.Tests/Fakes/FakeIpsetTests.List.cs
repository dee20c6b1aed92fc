namespace Felix.Dataplane.Tests.Fakes;

/// <summary>The text of <c>ipset list</c> in its forms.</summary>
public sealed partial class FakeIpsetTests
{
    [Fact]
    public async Task List_prints_each_set_with_its_header_and_members_and_a_blank_line_between_sets()
    {
        var fake = new FakeIpset();
        await AssertRestoresAsync(fake, "create a hash:ip\nadd a 10.0.0.1\ncreate b hash:net\n");

        var list = await RunAsync(fake, null, "list");

        Assert.Equal($"""
            Name: a
            Type: hash:ip
            Revision: 6
            Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval {InitVal(fake, "a")}
            Size in memory: 256
            References: 0
            Number of entries: 1
            Members:
            10.0.0.1

            Name: b
            Type: hash:net
            Revision: 7
            Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval {InitVal(fake, "b")}
            Size in memory: 456
            References: 0
            Number of entries: 0
            Members:

            """, list.StandardOutput);
    }

    [Fact]
    public async Task Terse_list_leaves_out_the_members_and_their_heading()
    {
        var fake = new FakeIpset();
        await AssertRestoresAsync(fake, "create a hash:ip\nadd a 10.0.0.1\ncreate L list:set\nadd L a\n");

        var terse = await RunAsync(fake, null, "list", "-t");
        var terseOne = await RunAsync(fake, null, "-terse", "list", "L");

        Assert.Equal($"""
            Name: a
            Type: hash:ip
            Revision: 6
            Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval {InitVal(fake, "a")}
            Size in memory: 256
            References: 1
            Number of entries: 1

            Name: L
            Type: list:set
            Revision: 3
            Header: size 8
            Size in memory: 128
            References: 0
            Number of entries: 1

            """, terse.StandardOutput);
        Assert.EndsWith("Number of entries: 1\n", terseOne.StandardOutput, StringComparison.Ordinal);
        Assert.StartsWith("Name: L\n", terseOne.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("list", "-n")]
    [InlineData("list", "-name")]
    [InlineData("-n", "list")]
    [InlineData("list", "-n", "-t")]
    [InlineData("list", "-t", "-n")]
    public async Task Names_only_lists_one_name_a_line(params string[] arguments)
    {
        var fake = new FakeIpset();
        await AssertRestoresAsync(fake, "create a hash:ip\ncreate L list:set\n");

        var result = await RunAsync(fake, null, arguments);

        Assert.Equal((0, "a\nL\n", ""), (result.ExitCode, result.StandardOutput, result.StandardError));
    }

    [Fact]
    public async Task List_of_one_set_and_output_save_and_save_of_one_set()
    {
        var fake = new FakeIpset();
        await AssertRestoresAsync(fake, "create a hash:ip\ncreate d hash:ip family inet6\nadd d ::1\n");

        var names = await RunAsync(fake, null, "list", "-name", "d");
        var asSave = await RunAsync(fake, null, "list", "-o", "save", "d");
        var save = await RunAsync(fake, null, "save", "d");
        var plain = await RunAsync(fake, null, "-o", "plain", "list", "d");

        Assert.Equal("d\n", names.StandardOutput);
        Assert.Equal($"create d hash:ip family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval {InitVal(fake, "d")}\nadd d ::1\n", save.StandardOutput);
        Assert.Equal(save.StandardOutput, asSave.StandardOutput);
        Assert.StartsWith("Name: d\n", plain.StandardOutput, StringComparison.Ordinal);
        Assert.EndsWith("Size in memory: 288\nReferences: 0\nNumber of entries: 1\nMembers:\n::1\n", plain.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_no_sets_list_and_save_print_nothing()
    {
        var fake = new FakeIpset();

        foreach (var arguments in new[] { new[] { "list" }, ["save"], ["list", "-n"], ["list", "-t"] })
        {
            var result = await RunAsync(fake, null, arguments);
            Assert.Equal((0, "", ""), (result.ExitCode, result.StandardOutput, result.StandardError));
        }
    }

    [Theory]
    [InlineData("hash:ip", "inet", 1024, 216)]
    [InlineData("hash:ip", "inet", 2048, 240)]
    [InlineData("hash:ip", "inet", 4096, 288)]
    [InlineData("hash:ip", "inet", 64, 216)]
    [InlineData("hash:ip", "inet6", 1024, 224)]
    [InlineData("hash:net", "inet", 1024, 456)]
    [InlineData("hash:net", "inet6", 1024, 1240)]
    [InlineData("hash:ip,port", "inet", 1024, 216)]
    public async Task Size_in_memory_of_an_empty_set_is_the_kernels(string type, string family, int hashSize, int expected)
    {
        var fake = new FakeIpset();
        await AssertRestoresAsync(fake, $"create s {type} family {family} hashsize {hashSize}\n");

        var list = await RunAsync(fake, null, "list", "-t", "s");

        Assert.Contains($"Size in memory: {expected}\n", list.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hash:ip family inet", "10.0.0.1", 256)]
    [InlineData("hash:ip family inet6", "::1", 288)]
    [InlineData("hash:net family inet", "10.0.0.0/8", 504)]
    [InlineData("hash:net family inet6", "::/64", 1312)]
    public async Task Size_in_memory_grows_by_a_bucket_per_member(string create, string member, int expected)
    {
        var fake = new FakeIpset();
        await AssertRestoresAsync(fake, $"create s {create}\nadd s {member}\n");

        var list = await RunAsync(fake, null, "list", "-t", "s");

        Assert.Contains($"Size in memory: {expected}\n", list.StandardOutput, StringComparison.Ordinal);
    }
}
