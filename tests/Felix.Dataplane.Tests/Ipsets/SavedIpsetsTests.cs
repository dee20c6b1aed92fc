using System.Net;
using Felix.Dataplane.Ipsets;

namespace Felix.Dataplane.Tests.Ipsets;

public sealed class SavedIpsetsTests
{
    [Fact]
    public void Felix_sets_are_read_with_their_members_and_others_only_counted()
    {
        var saved = SavedIpsets.Parse("""
            create cali40-x hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1
            add cali40-x 10.9.9.9
            create felix-v4-db hash:ip family inet hashsize 32768 maxelem 1048576 bucketsize 12 initval 0xd0e77279
            add felix-v4-db 10.0.0.1
            add felix-v4-db 10.0.0.2
            create felix-all-ipam-pools-v6 hash:net family inet6 hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x2
            add felix-all-ipam-pools-v6 fd00::/48
            add felix-all-ipam-pools-v6 fd01::1
            create felix-tmp-v4-db hash:ip family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x3

            """);

        Assert.Equal(4, saved.Total);
        Assert.Equal(["felix-all-ipam-pools-v6", "felix-tmp-v4-db", "felix-v4-db"], saved.Owned.Keys.Order(StringComparer.Ordinal));
        var db = saved.Owned["felix-v4-db"];
        Assert.Equal(new IpSetMetadata(IpSetType.HashIp, IpVersion.V4, 1_048_576, true), db.Metadata);
        Assert.Equal([IPNetwork.Parse("10.0.0.1/32"), IPNetwork.Parse("10.0.0.2/32")], db.Members.Order(NetworkOrder.Instance));
        var pools = saved.Owned["felix-all-ipam-pools-v6"];
        Assert.True(pools.Metadata.Matches(new IpSetSpec("felix-all-ipam-pools-v6", IpSetType.HashNet, IpVersion.V6, 1_048_576)));
        Assert.Equal([IPNetwork.Parse("fd00::/48"), IPNetwork.Parse("fd01::1/128")], pools.Members.Order(NetworkOrder.Instance));
    }

    [Theory]
    [InlineData("create felix-v4-a hash:ip family inet hashsize 1024 maxelem 1048576 timeout 600", "add felix-v4-a 10.0.0.1 timeout 500")]
    [InlineData("create felix-v4-a hash:ip family inet hashsize 1024 maxelem 1048576 counters", "add felix-v4-a 10.0.0.1 packets 0 bytes 0")]
    [InlineData("create felix-v4-a hash:ip,port family inet hashsize 1024 maxelem 1048576", "add felix-v4-a 10.0.0.1,tcp:80")]
    [InlineData("create felix-v4-a hash:ip family inet hashsize 1024 maxelem 1048576", "add felix-v4-a fe80::1")]
    [InlineData("create felix-v4-a hash:ip family inet hashsize 1024 maxelem 1048576", "add felix-v4-a 10")]
    [InlineData("create felix-v4-a list:set size 8", "add felix-v4-a felix-v4-b")]
    public void A_felix_set_we_would_not_have_made_that_way_does_not_match_and_is_rewritten(string create, string add)
    {
        var saved = SavedIpsets.Parse(create + "\n" + add + "\n");

        Assert.False(saved.Owned["felix-v4-a"].Metadata.Matches(new IpSetSpec("felix-v4-a", IpSetType.HashIp, IpVersion.V4, 1_048_576)));
    }

    [Theory]
    [InlineData("Name: felix-v4-a")]
    [InlineData("create")]
    [InlineData("add felix-v4-a")]
    public void Output_that_is_not_ipset_save_is_refused(string line)
    {
        Assert.Throws<FormatException>(() => SavedIpsets.Parse(line + "\n"));
    }

    [Fact]
    public void A_reader_given_lines_one_by_one_reports_the_first_bad_line_when_finished()
    {
        var reader = new SavedIpsets.Reader();
        foreach (var line in new[] { "create felix-v4-a hash:ip family inet", "add felix-v4-a 10.0.0.1", "Name: x", "create" })
        {
            reader.Line(line);
        }

        var error = Assert.Throws<FormatException>(reader.Finish);
        Assert.Contains("line 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Members_of_sets_not_created_first_are_ignored()
    {
        var saved = SavedIpsets.Parse("add felix-v4-a 10.0.0.1\n");

        Assert.Empty(saved.Owned);
    }

    [Theory]
    [InlineData("felix-v4-db", "felix-tmp-v4-db")]
    [InlineData("felix-v4-0123456789abcdef", "felix-tmp-v4-0123456789abcdef")]
    [InlineData("felix-masq-ipam-pools-v6", "felix-tmp-masq-ipam-pools-v6")]
    public void Temporary_names_read_as_their_set(string name, string temporary) =>
        Assert.Equal(temporary, IpSetNames.Temporary(name));

    [Fact]
    public void Temporary_names_of_long_names_are_distinct_hashes_within_the_kernel_limit()
    {
        var first = IpSetNames.Temporary("felix-v4-" + new string('a', 22));
        var second = IpSetNames.Temporary("felix-v4-" + new string('a', 21) + "b");

        Assert.NotEqual(first, second);
        Assert.All([first, second], t => Assert.Equal(31, t.Length));
        Assert.All([first, second], t => Assert.True(IpSetNames.IsTemporary(t)));
    }

    [Theory]
    [InlineData(0, 1024)]
    [InlineData(4_096, 1024)]
    [InlineData(100_000, 32_768)]
    [InlineData(1_048_576, 262_144)]
    public void Hash_size_is_sized_for_the_fill(int members, long hashSize) =>
        Assert.Equal(hashSize, IpsetBatch.HashSizeFor(members));
}
