using Felix.Agent.Policy;
using Felix.Dataplane.Iptables;

namespace Felix.Agent.Tests.Policy;

public class PolicyNamesTests
{
    [Theory]
    [InlineData("db", "db")]
    [InlineData("sixteen-chars-id", "sixteen-chars-id")]
    [InlineData("seventeen-chars-i", "_")]
    [InlineData("_db", "_")]
    public void Ids_up_to_16_characters_are_verbatim_and_others_hashed(string id, string expectedStart)
    {
        var name = PolicyNames.Id(id);

        if (expectedStart == "_")
        {
            Assert.Matches("^_[0-9a-f]{15}$", name);
        }
        else
        {
            Assert.Equal(expectedStart, name);
        }
    }

    [Fact]
    public void Hashed_ids_are_stable_and_distinct()
    {
        var ids = Enumerable.Range(0, 5000).Select(i => $"a-long-profile-identifier-{i}").ToList();

        var names = ids.Select(PolicyNames.Id).ToList();

        Assert.Equal(names, ids.Select(PolicyNames.Id));
        Assert.Equal(ids.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.DoesNotContain(names, n => ids.Contains(n));
    }

    [Fact]
    public void The_longest_names_fit_the_kernels_limits()
    {
        var longest = new string('x', PolicyNames.MaxVerbatimIdLength);
        var suffix = new string('y', 14);

        Assert.Equal(IptablesNames.MaxChainNameLength, PolicyNames.DispatchBranchChain(suffix, PolicyDirection.Outbound).Length);
        Assert.True(PolicyNames.ProfileChain(longest, PolicyDirection.Inbound).Length <= IptablesNames.MaxChainNameLength);
        Assert.True(PolicyNames.EndpointChain(suffix, PolicyDirection.Outbound).Length <= IptablesNames.MaxChainNameLength);
        Assert.True(PolicyNames.TagSet(longest, IpVersion.V6).Length <= IptablesNames.MaxIpSetNameLength);
        Assert.True(PolicyNames.MasqueradePoolsSet(IpVersion.V6).Length <= IptablesNames.MaxIpSetNameLength);
    }

    [Fact]
    public void Pool_sets_cannot_collide_with_tag_sets()
    {
        foreach (var version in new[] { IpVersion.V4, IpVersion.V6 })
        {
            Assert.NotEqual(PolicyNames.TagSet("all-ipam-pools", version), PolicyNames.AllPoolsSet(version));
            Assert.NotEqual(PolicyNames.TagSet("masq-ipam-pools", version), PolicyNames.MasqueradePoolsSet(version));
        }
    }
}
