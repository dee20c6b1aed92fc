using System.Net;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>Interfaces vanishing half-way, refusals, failed sockets and kernels without IPv6.</summary>
public sealed partial class InterfaceConfiguratorTests
{
    [Fact]
    public void An_interface_vanishing_among_its_parameters_is_not_an_error()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name);
        _h.CreateInterface("cali2");
        configurator.SetInterface(Workload());
        configurator.SetInterface(Workload("cali2"));
        _h.Deliver(configurator);
        _h.Sysctls.BeforeAccess = path =>
        {
            if (path == $"net/ipv4/neigh/{Name}/proxy_delay" && _h.Sysctls.HasInterface(Name))
            {
                _h.DeleteInterface(Name);
            }
        };

        Assert.True(configurator.Apply());

        Assert.False(configurator.IsConfigured(Name));
        Assert.True(configurator.IsConfigured("cali2"));
        Assert.DoesNotContain(_h.Netlink.Requests, r => r is SetLinkUp s && s.InterfaceIndex != _h.Netlink.IndexOf("cali2"));
        Assert.Equal(0, _h.Metric("felix_interface_sysctl_errors"));
        Assert.DoesNotContain(_h.Log.Entries, e => e.Level >= LogLevel.Warning && e.Message.Contains(Name, StringComparison.Ordinal));

        _h.Deliver(configurator);
        Assert.False(configurator.HasPendingWork);
        _h.Sysctls.BeforeAccess = null;
        _h.CreateInterface(Name);
        _h.Deliver(configurator);
        Assert.True(configurator.Apply());
        Assert.True(configurator.IsConfigured(Name));
    }

    [Fact]
    public void An_interface_vanishing_before_its_netlink_requests_is_not_an_error()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name);
        configurator.SetInterface(Workload());
        _h.Netlink.BeforeRequest = r =>
        {
            if (r is SetLinkUp && _h.Netlink.Link(Name) is not null)
            {
                _h.DeleteInterface(Name);
            }
        };

        Assert.True(configurator.Apply());

        Assert.False(configurator.IsConfigured(Name));
        Assert.Equal(0, _h.Metric("felix_netlink_errors"));
        _h.Deliver(configurator);
        Assert.False(configurator.HasPendingWork);

        _h.Netlink.BeforeRequest = null;
        var index = _h.CreateInterface(Name);
        _h.Deliver(configurator);
        Assert.True(configurator.Apply());
        Assert.True(configurator.IsConfigured(Name));
        Assert.Equal(new SetLinkUp(index), _h.Netlink.Requests.Last(r => r is SetLinkUp));
    }

    [Fact]
    public void A_refused_request_is_counted_logged_and_retried_after_a_delay()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name);
        configurator.SetInterface(Workload());
        _h.Netlink.Refuse = r => r is ReplaceProxyNeighbor ? new NetlinkError(22, "EINVAL", "bad proxy") : null;

        Assert.False(configurator.Apply());

        Assert.False(configurator.IsConfigured(Name));
        Assert.Equal(1, _h.Metric("felix_netlink_errors{errno=\"EINVAL\"}"));
        Assert.Contains(_h.Log.Entries, e => e.Level == LogLevel.Warning
            && e.Message.Contains($"{Name}: the kernel refused proxy neighbour fe80::1: EINVAL (22): bad proxy", StringComparison.Ordinal));
        Assert.False(configurator.HasPendingWork);

        _h.Netlink.Refuse = null;
        _h.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(configurator.HasPendingWork);
        Assert.True(configurator.Apply());
        Assert.True(configurator.IsConfigured(Name));
    }

    [Fact]
    public void The_retry_delay_doubles_per_failure_and_a_new_link_does_not_wait()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name);
        configurator.SetInterface(Workload());
        _h.Netlink.Refuse = r => r is SetLinkUp ? new NetlinkError(1, "EPERM", null) : null;
        configurator.Apply();
        _h.Clock.Advance(TimeSpan.FromSeconds(1));
        configurator.Apply();

        _h.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(configurator.HasPendingWork);
        _h.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(configurator.HasPendingWork);

        _h.Netlink.Refuse = null;
        _h.DeleteInterface(Name);
        _h.CreateInterface(Name);
        _h.Deliver(configurator);
        Assert.True(configurator.Apply());
        Assert.True(configurator.IsConfigured(Name));
    }

    [Fact]
    public void A_failed_socket_fails_the_apply_and_everything_is_tried_again()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name);
        configurator.SetInterface(Workload());
        configurator.Apply();
        _h.Deliver(configurator);
        _h.CreateInterface("cali2");
        configurator.SetInterface(Workload("cali2"));
        _h.Deliver(configurator);

        _h.Netlink.SocketFailure = "recvmsg: ENOBUFS";
        Assert.False(configurator.Apply());
        Assert.Equal(1, _h.Metric("felix_netlink_errors{errno=\"socket\"}"));
        Assert.Contains(_h.Log.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("ENOBUFS", StringComparison.Ordinal));

        _h.Netlink.SocketFailure = null;
        _h.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(configurator.Apply());
        Assert.True(configurator.IsConfigured("cali2"));
    }

    [Fact]
    public void A_failed_link_listing_is_retried_after_a_delay()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name);
        _h.Netlink.TakeEvents();
        configurator.SetInterface(Workload());
        _h.Netlink.SocketFailure = "socket: EMFILE";

        Assert.False(configurator.Apply());
        Assert.False(configurator.HasPendingWork);

        _h.Netlink.SocketFailure = null;
        _h.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(configurator.HasPendingWork);
        Assert.True(configurator.Apply());
        Assert.True(configurator.IsConfigured(Name));
        Assert.Equal(2, _h.Netlink.ListLinksCalls);
    }

    [Fact]
    public void A_refused_parameter_is_counted_and_retried_and_the_link_waits_for_it()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name);
        configurator.SetInterface(Workload());
        _h.Sysctls.Fail = path => path.EndsWith("/proxy_arp", StringComparison.Ordinal) ? "Permission denied" : null;

        Assert.False(configurator.Apply());

        Assert.Equal(1, _h.Metric("felix_interface_sysctl_errors"));
        Assert.Empty(_h.Netlink.Requests);
        Assert.Contains(_h.Log.Entries, e => e.Level == LogLevel.Warning
            && e.Message.Contains($"net/ipv4/conf/{Name}/proxy_arp: Permission denied", StringComparison.Ordinal));

        _h.Sysctls.Fail = null;
        _h.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(configurator.Apply());
        Assert.True(configurator.IsConfigured(Name));
    }

    [Fact]
    public void Failed_global_parameters_are_retried_after_a_delay_without_holding_up_interfaces()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name);
        configurator.SetInterface(Workload());
        _h.Sysctls.Fail = path => path == "net/ipv4/ip_forward" ? "Read-only file system" : null;

        Assert.False(configurator.Apply());
        Assert.True(configurator.IsConfigured(Name));
        Assert.Contains(_h.Log.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("Read-only file system", StringComparison.Ordinal));
        Assert.False(configurator.HasPendingWork);

        _h.Sysctls.Fail = null;
        _h.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(configurator.Apply());
        Assert.Equal("1", _h.Sysctls["net/ipv4/ip_forward"]);
    }

    [Fact]
    public void Without_ipv6_support_only_accept_ra_is_set_on_the_ipv6_side()
    {
        var configurator = _h.New(InterfaceHarness.Options with { Ipv6Support = false });
        var index = _h.CreateInterface(Name);
        configurator.SetInterface(Workload());

        Assert.True(configurator.Apply());

        Assert.Equal("0", _h.Sysctls["net/ipv6/conf/all/forwarding"]);
        Assert.Equal("0", _h.Sysctls[$"net/ipv6/conf/{Name}/accept_ra"]);
        Assert.Equal("0", _h.Sysctls[$"net/ipv6/conf/{Name}/proxy_ndp"]);
        Assert.Equal("0", _h.Sysctls[$"net/ipv6/conf/{Name}/forwarding"]);
        Assert.Equal([new SetLinkUp(index), new ReplaceNeighbor(index, V4, Mac.GetAddressBytes())], _h.Netlink.Requests, RequestComparer.Instance);
    }

    [Fact]
    public void An_endpoint_without_ipv6_addresses_gets_no_ipv6_configuration()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name, up: true);
        configurator.SetInterface(Workload(ipv6: false));

        configurator.Apply();

        Assert.Equal("0", _h.Sysctls[$"net/ipv6/conf/{Name}/accept_ra"]);
        Assert.Equal("0", _h.Sysctls[$"net/ipv6/conf/{Name}/proxy_ndp"]);
        Assert.Single(_h.Netlink.Requests);
    }

    [Fact]
    public void A_kernel_without_ipv6_is_reported_once_and_ipv4_configured()
    {
        var h = new InterfaceHarness(kernelIpv6: false);
        var configurator = h.New();
        var index = h.CreateInterface(Name);
        configurator.SetInterface(Workload());

        Assert.True(configurator.Apply());
        h.Clock.Advance(TimeSpan.FromSeconds(90));
        Assert.True(configurator.Apply());

        Assert.True(configurator.IsConfigured(Name));
        Assert.DoesNotContain(h.Sysctls.Writes, w => w.Path.StartsWith("net/ipv6", StringComparison.Ordinal));
        Assert.DoesNotContain(h.Netlink.Requests, r => r is ReplaceProxyNeighbor || (r is ReplaceNeighbor n && n.Address.Equals(V6)));
        Assert.Single(h.Log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("kernel has no IPv6", StringComparison.Ordinal));
        Assert.Contains(new SetLinkUp(index), h.Netlink.Requests);
    }

    [Fact]
    public void An_interface_without_ipv6_fails_an_ipv6_endpoint_but_not_an_ipv4_one()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name, ipv6: false);
        _h.CreateInterface("cali2", ipv6: false);
        configurator.SetInterface(Workload());
        configurator.SetInterface(Workload("cali2", ipv6: false));

        Assert.False(configurator.Apply());

        Assert.False(configurator.IsConfigured(Name));
        Assert.True(configurator.IsConfigured("cali2"));
        Assert.Contains(_h.Log.Entries, e => e.Level == LogLevel.Warning
            && e.Message.Contains($"{Name}: could not set its kernel parameters: the interface has no IPv6", StringComparison.Ordinal));
    }

    /// <summary>Requests compared by value, the link address by its bytes.</summary>
    private sealed class RequestComparer : IEqualityComparer<NetlinkRequest>
    {
        public static readonly RequestComparer Instance = new();

        public bool Equals(NetlinkRequest? x, NetlinkRequest? y) => (x, y) switch
        {
            (ReplaceNeighbor a, ReplaceNeighbor b) => a.InterfaceIndex == b.InterfaceIndex && a.Address.Equals(b.Address) && a.LinkAddress.SequenceEqual(b.LinkAddress),
            _ => object.Equals(x, y),
        };

        public int GetHashCode(NetlinkRequest obj) => 0;
    }
}
