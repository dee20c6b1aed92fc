using System.Net;

namespace Felix.Dataplane.Tests;

public sealed class IpNetworksTests
{
    [Theory]
    [InlineData("10.65.0.7", 32, true)]
    [InlineData("10.65.0.0", 24, true)]
    [InlineData("10.65.0.7", 24, false)]
    [InlineData("fd00::1", 128, true)]
    [InlineData("fd00::1", 64, false)]
    [InlineData("10.65.0.0", 33, false)]
    [InlineData("10.65.0.0", -1, false)]
    public void TryCreate_refuses_host_bits_past_the_prefix_and_prefixes_out_of_range(string address, int prefix, bool valid)
    {
        var network = IpNetworks.TryCreate(IPAddress.Parse(address), prefix);

        Assert.Equal(valid, network is not null);
        if (network is { } built)
        {
            Assert.Equal((IPAddress.Parse(address), prefix), (built.BaseAddress, built.PrefixLength));
        }
    }

    [Theory]
    [InlineData("10.65.0.1/32", "10.65.0.1/32", true)]
    [InlineData("10.65.0.0/24", "10.65.0.0/25", false)]
    [InlineData("10.65.0.1/32", "10.65.0.2/32", false)]
    [InlineData("fd00::1/128", "fd00::1/128", true)]
    [InlineData("::ffff:10.65.0.1/128", "10.65.0.1/32", false)]
    [InlineData("0.0.0.0/0", "::/0", false)]
    public void NetworkKeyComparer_agrees_with_IPNetwork_equality(string left, string right, bool equal)
    {
        var (x, y) = (IPNetwork.Parse(left), IPNetwork.Parse(right));

        Assert.Equal(x.Equals(y), NetworkKeyComparer.Instance.Equals(x, y));
        Assert.Equal(equal, NetworkKeyComparer.Instance.Equals(x, y));
        if (equal)
        {
            Assert.Equal(NetworkKeyComparer.Instance.GetHashCode(x), NetworkKeyComparer.Instance.GetHashCode(y));
        }
    }

    [Fact]
    public void NetworkKeyComparer_gives_distinct_host_routes_distinct_hashes()
    {
        var hashes = Enumerable.Range(0, 65_536)
            .Select(i => NetworkKeyComparer.Instance.GetHashCode(new IPNetwork(new IPAddress([10, 70, (byte)(i >> 8), (byte)i]), 32)))
            .ToHashSet();

        Assert.Equal(65_536, hashes.Count);
    }
}
