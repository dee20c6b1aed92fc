using Felix.Dataplane;
using Felix.Dataplane.Ipsets;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Ipsets;

/// <summary>MaxIpsetSize: a set that would hold more is left as it is (created empty when new), and counted.</summary>
public sealed partial class IpSetsTests
{
    [Fact]
    public async Task A_set_larger_than_MaxIpsetSize_is_created_empty_when_new_and_filled_once_it_fits()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("oversize");
        var sets = new IpSetsUnderTest(netns);
        var spec = new IpSetSpec("felix-v4-big", IpSetType.HashIp, IpVersion.V4, 10);
        var members = Enumerable.Range(1, 11).Select(i => Host($"192.168.0.{i}")).ToList();
        sets.Want(spec, members);
        sets.Want(V4Tag("felix-v4-fine"), [Host("192.168.1.1")]);

        await sets.ApplyUpdatesAsync();
        var kernel = await KernelIpsets.ReadAsync(netns);
        Assert.Equal(("hash:ip", "inet", 10L, 0), (kernel["felix-v4-big"].Type, kernel["felix-v4-big"].Family, kernel["felix-v4-big"].MaxElem, kernel["felix-v4-big"].Members.Count));
        Assert.Single(kernel["felix-v4-fine"].Members);
        Assert.Equal(1, sets.Oversized);
        Assert.False(sets.Sets.HasPendingWork);
        Assert.Equal(0, await sets.ApplyUpdatesAsync());

        sets.Remove("felix-v4-big", members[^1]);
        await sets.ApplyUpdatesAsync();
        await sets.AssertKernelAsync();
        Assert.Equal(0, sets.Oversized);
    }

    [Fact]
    public async Task A_programmed_set_that_grows_past_MaxIpsetSize_is_left_as_it_is_until_it_shrinks()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("grow");
        var sets = new IpSetsUnderTest(netns);
        var members = Enumerable.Range(1, 10).Select(i => Host($"192.168.0.{i}")).ToList();
        sets.Want(new IpSetSpec("felix-v4-big", IpSetType.HashIp, IpVersion.V4, 10), members);
        await sets.ApplyUpdatesAsync();
        var programmed = await KernelIpsets.SortedLinesAsync(netns, n => n == "felix-v4-big");

        sets.Add("felix-v4-big", Host("192.168.0.11"));
        Assert.Equal(0, await sets.ApplyUpdatesAsync());
        Assert.Equal(programmed, await KernelIpsets.SortedLinesAsync(netns, n => n == "felix-v4-big"));
        Assert.Equal(1, sets.Oversized);

        sets.Remove("felix-v4-big", members[0]);
        Assert.Equal(2, await sets.ApplyUpdatesAsync());
        await sets.AssertKernelAsync();
        Assert.Equal(0, sets.Oversized);
    }

    [Fact]
    public async Task The_oversized_gauge_falls_back_when_the_extra_member_is_removed_again()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("shrink");
        var sets = new IpSetsUnderTest(netns);
        var members = Enumerable.Range(1, 10).Select(i => Host($"192.168.0.{i}")).ToList();
        sets.Want(new IpSetSpec("felix-v4-big", IpSetType.HashIp, IpVersion.V4, 10), members);
        await sets.ApplyUpdatesAsync();

        sets.Add("felix-v4-big", Host("192.168.0.11"));
        await sets.ApplyUpdatesAsync();
        Assert.Equal(1, sets.Oversized);

        sets.Remove("felix-v4-big", Host("192.168.0.11"));
        await sets.ApplyUpdatesAsync();
        await sets.AssertKernelAsync();
        Assert.Equal(0, sets.Oversized);
    }

    [Fact]
    public async Task The_oversized_gauge_falls_back_when_the_oversized_set_is_removed()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("dropbig");
        var sets = new IpSetsUnderTest(netns);
        sets.Want(new IpSetSpec("felix-v4-big", IpSetType.HashIp, IpVersion.V4, 10), Enumerable.Range(1, 11).Select(i => Host($"192.168.0.{i}")));
        await sets.ApplyUpdatesAsync();
        Assert.Equal(1, sets.Oversized);

        sets.Drop("felix-v4-big");
        await sets.ApplyUpdatesAsync();
        await sets.ApplyDeletionsAsync();
        await sets.AssertKernelAsync();
        Assert.Equal(0, sets.Oversized);
    }
}
