using System.Net;
using Felix.Dataplane;
using Felix.Dataplane.Ipsets;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Ipsets;

/// <summary>
/// <see cref="IpSets"/> against the real <c>ipset</c>, each test in a network namespace of its own:
/// the desired sets are programmed exactly (both families, both types), a member change costs a
/// line per member even in a set of 100 000, a restarted agent writes nothing, drift made by hand
/// is repaired after a read-back, other programs' sets are never touched, unwanted sets are
/// destroyed unless a rule still uses them, rewrites go through a temporary set and a swap that
/// keeps the rules' references, and a set larger than MaxIpsetSize is left alone.
/// </summary>
public sealed partial class IpSetsTests
{
    /// <summary>MaxIpsetSize's default.</summary>
    private const int MaxSize = 1_048_576;

    /// <summary>31 characters, the longest name ipset takes: its temporary set gets a hashed name.</summary>
    private const string LongName = "felix-v4-abcdefghijklmnopqrstuv";

    public IpSetsTests()
    {
        Require.Root();
    }

    [Fact]
    public async Task The_desired_sets_of_both_families_and_types_are_programmed_exactly_in_one_restore()
    {
        await using var net = new NetworkNamespaces();
        var sets = new IpSetsUnderTest(await net.CreateNamespaceAsync("prog"));
        WantSeed(sets);
        Assert.True(sets.Sets.HasPendingWork);

        await sets.ApplyUpdatesAsync();

        await sets.AssertKernelAsync();
        Assert.Equal((1, 1), (sets.Saves, sets.Restores.Count));
        Assert.Equal(0, sets.Errors);
        Assert.Equal(sets.Expected.Count, sets.Felix);
        Assert.Equal(sets.Expected.Count, sets.Total);
        Assert.False(sets.Sets.HasPendingWork);
        Assert.Equal(0, await sets.ApplyDeletionsAsync());
        await sets.AssertKernelAsync();
    }

    [Fact]
    public async Task In_a_set_of_100000_members_a_member_change_costs_one_line_per_member()
    {
        const string Name = "felix-v4-big";
        await using var net = new NetworkNamespaces();
        var sets = new IpSetsUnderTest(await net.CreateNamespaceAsync("big"));
        // 10.0.0.1 … 10.1.134.160: 100 000 distinct addresses.
        var members = Enumerable.Range(1, 100_000).Select(i => IpSetSpec.Host(new IPAddress([10, (byte)(i >> 16), (byte)(i >> 8), (byte)i]))).ToList();
        sets.Want(new IpSetSpec(Name, IpSetType.HashIp, IpVersion.V4, MaxSize), members);
        await sets.ApplyUpdatesAsync();
        await sets.AssertKernelAsync();

        sets.Remove(Name, members[54_321]);
        sets.Add(Name, Host("10.200.0.1"));
        Assert.InRange(await sets.ApplyUpdatesAsync(), 1, 2);
        await sets.AssertKernelAsync();

        sets.Add(Name, Host("10.200.0.2"));
        Assert.Equal(1, await sets.ApplyUpdatesAsync());
        await sets.AssertKernelAsync();

        sets.Remove(Name, members[7]);
        Assert.Equal(1, await sets.ApplyUpdatesAsync());
        await sets.AssertKernelAsync();

        // Deltas are trusted from the agent's own writes: the only read-back was the first.
        Assert.Equal(1, sets.Saves);
        Assert.Equal(0, sets.Errors);
    }

    [Fact]
    public async Task A_restarted_agent_over_the_programmed_sets_writes_nothing_and_then_only_its_changes()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("restart");
        var first = new IpSetsUnderTest(netns);
        WantSeed(first);
        await first.ApplyUpdatesAsync();
        var programmed = await KernelIpsets.SortedLinesAsync(netns, _ => true);

        var restarted = new IpSetsUnderTest(netns);
        restarted.WantAll(first.Expected);
        Assert.Equal(0, await restarted.ApplyUpdatesAsync());
        Assert.Equal(0, await restarted.ApplyDeletionsAsync());

        Assert.Equal(1, restarted.Calls);
        Assert.Equal(1, restarted.Saves);
        Assert.Empty(restarted.Restores);
        Assert.False(restarted.Sets.HasPendingWork);
        Assert.Equal(first.Expected.Count, restarted.Felix);
        // Byte for byte, hash seeds included: not one set was re-created.
        Assert.Equal(programmed, await KernelIpsets.SortedLinesAsync(netns, _ => true));

        var changed = new IpSetsUnderTest(netns);
        changed.WantAll(first.Expected);
        changed.Remove("felix-v4-db", Host("192.168.0.1"));
        changed.Add("felix-v6-db", Host("fd00::99"));
        Assert.Equal(2, await changed.ApplyUpdatesAsync());
        await changed.AssertKernelAsync();
        var untouched = (string n) => n is not ("felix-v4-db" or "felix-v6-db");
        Assert.Equal(programmed.Where(l => untouched(l.Split(' ')[1])), await KernelIpsets.SortedLinesAsync(netns, untouched));
    }

    [Fact]
    public async Task IPv6_sets_take_deltas_of_addresses_and_networks_and_read_back_as_written()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("v6");
        var sets = new IpSetsUnderTest(netns);
        // Addresses .NET and the kernel print differently (embedded IPv4, where the zeros are compressed).
        sets.Want(V6Tag("felix-v6-web"), [Host("fd00::1"), Host("fd00::2"), Host("2001:db8:0:1::ab"), Host("::ffff:10.1.2.3"),
            Host("::10.1.2.3"), Host("2001:db8::1:0:0:1"), Host("2001:db8:1:2:3:4:5:6")]);
        sets.Want(new IpSetSpec("felix-all-ipam-pools-v6", IpSetType.HashNet, IpVersion.V6, MaxSize), [Net("fd00::/64"), Net("2001:db8::/48")]);
        await sets.ApplyUpdatesAsync();
        await sets.AssertKernelAsync();

        sets.Remove("felix-v6-web", Host("fd00::2"));
        sets.Add("felix-v6-web", Host("fd00::3"), Host("fe80::1234:5678"));
        sets.Remove("felix-all-ipam-pools-v6", Net("2001:db8::/48"));
        sets.Add("felix-all-ipam-pools-v6", Net("fd10:1:2::/56"), Host("fd20::7"));
        Assert.Equal(6, await sets.ApplyUpdatesAsync());

        await sets.AssertKernelAsync();
        Assert.Equal((1, 2), (sets.Saves, sets.Restores.Count));

        var restarted = new IpSetsUnderTest(netns);
        restarted.WantAll(sets.Expected);
        Assert.Equal(0, await restarted.ApplyUpdatesAsync());
        Assert.Empty(restarted.Restores);
    }

    /// <summary>
    /// The sets of the seed example and then some: tag sets of both families (one empty, one
    /// with the longest name there is, one with its own maxelem), and the IPAM pool sets with
    /// networks and a single address.
    /// </summary>
    private static void WantSeed(IpSetsUnderTest sets)
    {
        sets.Want(V4Tag("felix-v4-db"), [Host("192.168.0.1"), Host("192.168.0.2"), Host("10.65.1.7")]);
        sets.Want(V4Tag("felix-v4-db-users"), [Host("192.168.0.2")]);
        sets.Want(V4Tag("felix-v4-web"), Enumerable.Range(1, 50).Select(i => Host($"192.168.1.{i}")));
        sets.Want(V4Tag("felix-v4-empty"), []);
        sets.Want(V4Tag(LongName), [Host("192.168.2.1")]);
        sets.Want(new IpSetSpec("felix-v4-small", IpSetType.HashIp, IpVersion.V4, 5000), [Host("192.168.3.1")]);
        sets.Want(new IpSetSpec("felix-all-ipam-pools", IpSetType.HashNet, IpVersion.V4, MaxSize),
            [Net("192.168.0.0/16"), Net("10.65.0.0/16"), Net("172.16.5.0/24"), Host("10.0.0.9")]);
        sets.Want(new IpSetSpec("felix-masq-ipam-pools", IpSetType.HashNet, IpVersion.V4, MaxSize), [Net("192.168.0.0/16")]);
        sets.Want(V6Tag("felix-v6-db"), [Host("fd00::1"), Host("fd00::2"), Host("2001:db8::a:1")]);
        sets.Want(V6Tag("felix-v6-empty"), []);
        sets.Want(new IpSetSpec("felix-all-ipam-pools-v6", IpSetType.HashNet, IpVersion.V6, MaxSize),
            [Net("fd00::/64"), Net("2001:db8::/48"), Host("fd00:1::1")]);
    }

    private static IpSetSpec V4Tag(string name) => new(name, IpSetType.HashIp, IpVersion.V4, MaxSize);

    private static IpSetSpec V6Tag(string name) => new(name, IpSetType.HashIp, IpVersion.V6, MaxSize);

    private static IPNetwork Host(string address) => IpSetSpec.Host(IPAddress.Parse(address));

    private static IPNetwork Net(string cidr) => IPNetwork.Parse(cidr);

    /// <summary>A clock that moves only when told: read-back and in-use retry times without waiting.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
