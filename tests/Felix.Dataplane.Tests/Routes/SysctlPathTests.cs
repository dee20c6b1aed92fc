using System.Net;
using System.Net.NetworkInformation;
using Felix.Dataplane.Routes;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>A path can only name the agent's own parameters: no interface name makes one that leaves its directory.</summary>
public sealed class SysctlPathTests
{
    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("../../kernel")]
    [InlineData("cali/../../x")]
    [InlineData("a/b")]
    [InlineData("all")]
    [InlineData("default")]
    [InlineData("cali0123456789ab")]
    [InlineData("eth0.100")]
    [InlineData("cali 1")]
    [InlineData("cali\n1")]
    [InlineData("cali1\0")]
    [InlineData("calí1")]
    public void A_name_that_could_leave_its_directory_is_refused_everywhere(string name)
    {
        Assert.False(SysctlPath.IsValidInterfaceName(name));
        foreach (var key in Enum.GetValues<InterfaceSysctl>())
        {
            Assert.Throws<ArgumentException>(() => SysctlPath.For(name, key));
        }
        Assert.Throws<ArgumentException>(() => new WorkloadInterface(name, null, [], [], null));
    }

    [Fact]
    public void A_null_name_is_refused()
    {
        Assert.False(SysctlPath.IsValidInterfaceName(null));
        Assert.Throws<ArgumentException>(() => SysctlPath.For(null!, InterfaceSysctl.ProxyArp));
    }

    [Theory]
    [InlineData(InterfaceSysctl.ProxyArp, "net/ipv4/conf/cali0123456789a/proxy_arp")]
    [InlineData(InterfaceSysctl.RpFilter, "net/ipv4/conf/cali0123456789a/rp_filter")]
    [InlineData(InterfaceSysctl.Ipv4Forwarding, "net/ipv4/conf/cali0123456789a/forwarding")]
    [InlineData(InterfaceSysctl.RouteLocalnet, "net/ipv4/conf/cali0123456789a/route_localnet")]
    [InlineData(InterfaceSysctl.ProxyDelay, "net/ipv4/neigh/cali0123456789a/proxy_delay")]
    [InlineData(InterfaceSysctl.ProxyNdp, "net/ipv6/conf/cali0123456789a/proxy_ndp")]
    [InlineData(InterfaceSysctl.Ipv6Forwarding, "net/ipv6/conf/cali0123456789a/forwarding")]
    [InlineData(InterfaceSysctl.AcceptRa, "net/ipv6/conf/cali0123456789a/accept_ra")]
    public void Each_key_has_its_kernel_path(InterfaceSysctl key, string expected)
    {
        var path = SysctlPath.For("cali0123456789a", key);

        Assert.Equal(expected, path.Relative);
        Assert.Equal("cali0123456789a", path.Interface);
    }

    [Fact]
    public void The_globals_are_the_kernel_paths()
    {
        Assert.Equal("net/ipv4/ip_forward", SysctlPath.Ipv4Forward.Relative);
        Assert.Equal("net/ipv6/conf/all/forwarding", SysctlPath.Ipv6AllForwarding.Relative);
        Assert.Equal("net/ipv4/conf/all/rp_filter", SysctlPath.Ipv4AllRpFilter.Relative);
        Assert.Null(SysctlPath.Ipv4Forward.Interface);
    }

    [Fact]
    public void A_workload_interface_refuses_addresses_no_neighbour_entry_should_be_made_for()
    {
        var mac = PhysicalAddress.Parse("96-C4-86-4D-D7-2C");
        Assert.Throws<ArgumentException>(() => new WorkloadInterface("cali1", mac, [IPAddress.Parse("fd00::1")], [], null));
        Assert.Throws<ArgumentException>(() => new WorkloadInterface("cali1", mac, [], [IPAddress.Parse("10.0.0.1")], null));
        Assert.Throws<ArgumentException>(() => new WorkloadInterface("cali1", mac, [IPAddress.Any], [], null));
        Assert.Throws<ArgumentException>(() => new WorkloadInterface("cali1", mac, [IPAddress.Parse("224.0.0.1")], [], null));
        Assert.Throws<ArgumentException>(() => new WorkloadInterface("cali1", mac, [], [IPAddress.Parse("ff02::1")], null));
        Assert.Throws<ArgumentException>(() => new WorkloadInterface("cali1", mac, [], [IPAddress.Parse("::ffff:10.0.0.1")], null));
        Assert.Throws<ArgumentException>(() => new WorkloadInterface("cali1", mac, [], [], IPAddress.Parse("169.254.1.1")));
        Assert.Throws<ArgumentException>(() => new WorkloadInterface("cali1", PhysicalAddress.Parse("96-C4-86-4D"), [], [], null));
    }

    [Fact]
    public void A_workload_interface_is_compared_by_value_whatever_the_address_order()
    {
        var mac = PhysicalAddress.Parse("96-C4-86-4D-D7-2C");
        var a = new WorkloadInterface("cali1", mac, [IPAddress.Parse("10.0.0.2"), IPAddress.Parse("10.0.0.1")], [], null);
        var b = new WorkloadInterface("cali1", PhysicalAddress.Parse("96-C4-86-4D-D7-2C"), [IPAddress.Parse("10.0.0.1"), IPAddress.Parse("10.0.0.2"), IPAddress.Parse("10.0.0.1")], [], null);

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, new WorkloadInterface("cali1", null, [IPAddress.Parse("10.0.0.1"), IPAddress.Parse("10.0.0.2")], [], null));
    }
}
