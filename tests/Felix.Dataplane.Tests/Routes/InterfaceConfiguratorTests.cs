using System.Net;
using System.Net.NetworkInformation;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>
/// The interface configuration against a fake namespace: every parameter set once and only when it
/// differs, the netlink requests each interface needs, interfaces that appear late, vanish or are
/// recreated, and repair on refresh.
/// </summary>
public sealed partial class InterfaceConfiguratorTests
{
    private const string Name = "cali2466cece7bc";
    private static readonly PhysicalAddress Mac = PhysicalAddress.Parse("96-C4-86-4D-D7-2C");
    private static readonly IPAddress V4 = IPAddress.Parse("192.168.0.1");
    private static readonly IPAddress V6 = IPAddress.Parse("fd00::1");
    private static readonly IPAddress Gateway = IPAddress.Parse("fe80::1");

    private readonly InterfaceHarness _h = new();

    [Fact]
    public void Every_parameter_is_written_once_with_its_value_and_nothing_again()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name);
        _h.Deliver(configurator);
        configurator.SetInterface(Workload());

        Assert.True(configurator.Apply());

        Assert.Equal(
        [
            ("net/ipv4/ip_forward", 1), ("net/ipv6/conf/all/forwarding", 1),
            ($"net/ipv4/conf/{Name}/rp_filter", 1), ($"net/ipv4/conf/{Name}/proxy_arp", 1),
            ($"net/ipv4/neigh/{Name}/proxy_delay", 0), ($"net/ipv4/conf/{Name}/forwarding", 1),
            ($"net/ipv6/conf/{Name}/accept_ra", 0), ($"net/ipv6/conf/{Name}/proxy_ndp", 1),
            ($"net/ipv6/conf/{Name}/forwarding", 1),
        ], _h.Sysctls.Writes);
        Assert.Equal(
        [
            $"net/ipv4/conf/{Name}/forwarding=1", $"net/ipv4/conf/{Name}/proxy_arp=1", $"net/ipv4/conf/{Name}/route_localnet=0",
            $"net/ipv4/conf/{Name}/rp_filter=1", $"net/ipv4/neigh/{Name}/proxy_delay=0",
            $"net/ipv6/conf/{Name}/accept_ra=0", $"net/ipv6/conf/{Name}/forwarding=1", $"net/ipv6/conf/{Name}/proxy_ndp=1",
        ], _h.Sysctls.Of(Name));
        Assert.True(configurator.IsConfigured(Name));
        Assert.Equal(9, _h.Metric("felix_interface_sysctl_writes"));
        Assert.Equal(1, _h.Metric("felix_interfaces_configured"));

        _h.Deliver(configurator);
        Assert.False(configurator.HasPendingWork);
        var (writes, executes) = (_h.Sysctls.Writes.Count, _h.Netlink.ExecuteCalls);
        Assert.True(configurator.Apply());
        Assert.Equal((writes, executes), (_h.Sysctls.Writes.Count, _h.Netlink.ExecuteCalls));
    }

    [Fact]
    public void Link_up_then_a_permanent_neighbour_per_address_then_the_gateway_proxy_entry_in_one_batch()
    {
        var configurator = _h.New();
        var index = _h.CreateInterface(Name);
        _h.Deliver(configurator);
        var v4b = IPAddress.Parse("192.168.0.2");
        configurator.SetInterface(new WorkloadInterface(Name, Mac, [v4b, V4], [V6], Gateway));

        configurator.Apply();

        var mac = Mac.GetAddressBytes();
        Assert.Equal(1, _h.Netlink.ExecuteCalls);
        Assert.Collection(_h.Netlink.Requests,
            r => Assert.Equal(new SetLinkUp(index), r),
            r => AssertNeighbour(r, index, V4, mac),
            r => AssertNeighbour(r, index, v4b, mac),
            r => AssertNeighbour(r, index, V6, mac),
            r => Assert.Equal(new ReplaceProxyNeighbor(index, Gateway), r));
        Assert.True(_h.Netlink.Link(Name)!.IsUp);
        Assert.Equal("96C4864DD72C", _h.NeighboursOf(Name)[V6]);
        Assert.Equal([Gateway], _h.ProxiesOf(Name));
    }

    [Fact]
    public void All_interfaces_of_one_apply_share_one_netlink_batch()
    {
        var configurator = _h.New();
        for (var i = 0; i < 3; i++)
        {
            _h.CreateInterface($"cali{i}", up: true);
            configurator.SetInterface(Workload($"cali{i}", ipv6: false));
        }
        _h.Deliver(configurator);

        configurator.Apply();

        Assert.Equal(1, _h.Netlink.ExecuteCalls);
        Assert.Equal(3, _h.Netlink.Requests.Count);
        Assert.All(_h.Netlink.Requests, r => Assert.IsType<ReplaceNeighbor>(r));
    }

    [Fact]
    public void No_mac_no_neighbour_entries()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name, up: true);
        configurator.SetInterface(new WorkloadInterface(Name, null, [V4], [], null));

        Assert.True(configurator.Apply());

        Assert.Empty(_h.Netlink.Requests);
        Assert.True(configurator.IsConfigured(Name));
    }

    [Fact]
    public void A_restart_writes_no_parameter_and_sets_no_link_up()
    {
        var first = _h.New();
        var index = _h.CreateInterface(Name);
        first.SetInterface(Workload());
        first.Apply();
        _h.Deliver(first);
        var (writes, requests, logged) = (_h.Sysctls.Writes.Count, _h.Netlink.Requests.Count, _h.Log.Entries.Count);

        var second = _h.New();
        second.SetInterface(Workload());
        Assert.True(second.Apply());

        Assert.Equal(writes, _h.Sysctls.Writes.Count);
        // Neighbour entries cannot be read back through the seam: re-sent, the kernel leaves them as they are.
        Assert.DoesNotContain(_h.Netlink.Requests.Skip(requests), r => r is SetLinkUp);
        Assert.Equal(3, _h.Netlink.Requests.Count - requests);
        Assert.DoesNotContain(_h.Log.Entries.Skip(logged), e => e.Level > LogLevel.Debug);
        Assert.Contains(_h.Log.Entries, e => e.Message.Contains($"{Name} (link {index}) was already configured", StringComparison.Ordinal));
    }

    [Fact]
    public void An_interface_that_appears_later_is_configured_on_its_link_event()
    {
        var configurator = _h.New();
        configurator.SetInterface(Workload());
        Assert.True(configurator.Apply());
        Assert.DoesNotContain(_h.Sysctls.Writes, w => w.Path.Contains(Name, StringComparison.Ordinal));
        Assert.Equal(1, _h.Metric("felix_interfaces_waiting"));
        Assert.False(configurator.HasPendingWork);

        var index = _h.CreateInterface(Name);
        _h.Deliver(configurator);
        Assert.True(configurator.HasPendingWork);
        Assert.True(configurator.Apply());

        Assert.True(configurator.IsConfigured(Name));
        Assert.Equal("1", _h.Sysctls[$"net/ipv4/conf/{Name}/proxy_arp"]);
        Assert.Contains(new SetLinkUp(index), _h.Netlink.Requests);
        Assert.Equal(0, _h.Metric("felix_interfaces_waiting"));
        Assert.Equal(1, _h.Netlink.ListLinksCalls);
    }

    [Fact]
    public void A_recreated_interface_is_configured_again_on_its_new_link()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name);
        configurator.SetInterface(Workload());
        configurator.Apply();
        _h.Deliver(configurator);

        _h.DeleteInterface(Name);
        var index = _h.CreateInterface(Name);
        _h.Deliver(configurator);
        var requests = _h.Netlink.Requests.Count;
        Assert.True(configurator.Apply());

        Assert.Equal("1", _h.Sysctls[$"net/ipv4/conf/{Name}/rp_filter"]);
        Assert.Equal("0", _h.Sysctls[$"net/ipv6/conf/{Name}/accept_ra"]);
        Assert.All(_h.Netlink.Requests.Skip(requests), r => Assert.Equal(index, IndexOf(r)));
        Assert.True(_h.Netlink.Link(Name)!.IsUp);
        Assert.True(configurator.IsConfigured(Name));
    }

    [Fact]
    public void A_hand_change_is_repaired_on_the_next_refresh_and_reported()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name);
        _h.Deliver(configurator);
        configurator.SetInterface(Workload());
        configurator.Apply();
        _h.Deliver(configurator);

        _h.Sysctls[$"net/ipv4/conf/{Name}/rp_filter"] = "0";
        _h.Sysctls["net/ipv4/ip_forward"] = "0";
        _h.Netlink.FlushNeighboursByHand(Name);
        Assert.False(configurator.HasPendingWork);

        _h.Clock.Advance(TimeSpan.FromSeconds(90));
        Assert.True(configurator.HasPendingWork);
        Assert.True(configurator.Apply());

        Assert.Equal("1", _h.Sysctls[$"net/ipv4/conf/{Name}/rp_filter"]);
        Assert.Equal("1", _h.Sysctls["net/ipv4/ip_forward"]);
        Assert.Equal(2, _h.NeighboursOf(Name).Count);
        Assert.Contains(_h.Log.Entries, e => e.Level == LogLevel.Warning
            && e.Message.Contains($"{Name} had been changed by someone else", StringComparison.Ordinal)
            && e.Message.Contains("rp_filter=1 (was 0)", StringComparison.Ordinal));
    }

    [Fact]
    public void With_the_refresh_interval_zero_nothing_is_checked_again()
    {
        var configurator = _h.New(InterfaceHarness.Options with { RefreshInterval = TimeSpan.Zero });
        _h.CreateInterface(Name);
        _h.Deliver(configurator);
        configurator.SetInterface(Workload());
        configurator.Apply();
        _h.Deliver(configurator);
        var reads = _h.Sysctls.Reads;

        _h.Clock.Advance(TimeSpan.FromDays(1));

        Assert.False(configurator.HasPendingWork);
        configurator.Apply();
        Assert.Equal(reads, _h.Sysctls.Reads);
        Assert.Equal(1, _h.Netlink.ListLinksCalls);
    }

    [Fact]
    public void A_link_set_down_by_hand_is_set_up_again_with_its_neighbour_entries()
    {
        var configurator = _h.New();
        var index = _h.CreateInterface(Name);
        configurator.SetInterface(Workload());
        configurator.Apply();
        _h.Deliver(configurator);

        _h.Netlink.SetLinkState(Name, up: false);
        _h.Deliver(configurator);
        Assert.True(configurator.HasPendingWork);
        var (writes, requests) = (_h.Sysctls.Writes.Count, _h.Netlink.Requests.Count);
        Assert.True(configurator.Apply());

        Assert.Equal(writes, _h.Sysctls.Writes.Count);
        Assert.Equal(new SetLinkUp(index), _h.Netlink.Requests[requests]);
        Assert.True(_h.Netlink.Link(Name)!.IsUp);
        Assert.Equal(2, _h.NeighboursOf(Name).Count);
        Assert.Equal([Gateway], _h.ProxiesOf(Name));
        Assert.Contains(_h.Log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("set back: link up", StringComparison.Ordinal));
    }

    [Fact]
    public void Lost_link_events_list_the_links_again_and_resend_everything()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name);
        configurator.SetInterface(Workload());
        configurator.Apply();
        _h.Deliver(configurator);
        // The link's own events (created down, then set up) make it dirty again: settle that first,
        // or its resend would hide whether the lost events bring one.
        configurator.Apply();
        Assert.False(configurator.HasPendingWork);
        // Missed: someone took the link down and up, which flushed its neighbour entries.
        _h.Netlink.SetLinkState(Name, up: false);
        _h.Netlink.SetLinkState(Name, up: true);
        _h.Netlink.TakeEvents();

        configurator.OnLinkEvent(new LinkEventsLost());
        Assert.True(configurator.HasPendingWork);
        configurator.Apply();

        Assert.Equal(2, _h.Netlink.ListLinksCalls);
        Assert.Equal(2, _h.NeighboursOf(Name).Count);
        Assert.Single(_h.ProxiesOf(Name));
    }

    [Fact]
    public void A_renamed_link_is_configured_under_its_new_name()
    {
        var configurator = _h.New();
        configurator.SetInterface(Workload());
        _h.Sysctls.AddInterface(Name);
        var index = _h.Netlink.AddLink("tmp12345", up: false);
        _h.Deliver(configurator);
        configurator.Apply();
        Assert.False(configurator.IsConfigured(Name));

        _h.Netlink.RenameLink("tmp12345", Name);
        _h.Deliver(configurator);
        configurator.Apply();

        Assert.True(configurator.IsConfigured(Name));
        Assert.Contains(new SetLinkUp(index), _h.Netlink.Requests);
    }

    [Fact]
    public void The_same_interface_again_is_no_work_and_a_new_address_is_one_neighbour_more()
    {
        var configurator = _h.New();
        var index = _h.CreateInterface(Name, up: true);
        configurator.SetInterface(Workload());
        configurator.Apply();
        _h.Deliver(configurator);

        configurator.SetInterface(Workload());
        Assert.False(configurator.HasPendingWork);

        var v4b = IPAddress.Parse("192.168.0.9");
        configurator.SetInterface(new WorkloadInterface(Name, Mac, [V4, v4b], [V6], Gateway));
        var (writes, requests) = (_h.Sysctls.Writes.Count, _h.Netlink.Requests.Count);
        Assert.True(configurator.Apply());

        Assert.Equal(writes, _h.Sysctls.Writes.Count);
        Assert.Contains(_h.Netlink.Requests.Skip(requests), r => r is ReplaceNeighbor n && n.Address.Equals(v4b) && n.InterfaceIndex == index);
        Assert.Equal(Convert.ToHexString(Mac.GetAddressBytes()), _h.NeighboursOf(Name)[v4b]);
    }

    [Fact]
    public void A_removed_interface_is_left_as_it_is_and_no_longer_counted()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name);
        configurator.SetInterface(Workload());
        configurator.Apply();
        _h.Deliver(configurator);

        configurator.RemoveInterface(Name);
        _h.Netlink.SetLinkState(Name, up: false);
        _h.Deliver(configurator);

        Assert.False(configurator.HasPendingWork);
        Assert.Null(configurator.Wanted(Name));
        Assert.Equal(0, _h.Metric("felix_interfaces_configured"));
        Assert.Equal("1", _h.Sysctls[$"net/ipv4/conf/{Name}/proxy_arp"]);
    }

    [Fact]
    public void Route_localnet_only_when_asked_for()
    {
        var configurator = _h.New(InterfaceHarness.Options with { RouteLocalnet = true });
        _h.CreateInterface(Name);
        configurator.SetInterface(Workload());

        configurator.Apply();

        Assert.Equal("1", _h.Sysctls[$"net/ipv4/conf/{Name}/route_localnet"]);
    }

    [Fact]
    // Reported as information, not as a warning: on an interface without an IPv4 address (every
    // workload interface) the kernel's loose check rejects what the strict one would, so the host
    // setting weakens nothing and the operator has nothing to change.
    public void A_loose_namespace_wide_rp_filter_is_reported_once_as_information_and_left_alone()
    {
        _h.Sysctls["net/ipv4/conf/all/rp_filter"] = "2";
        var configurator = _h.New();

        configurator.Apply();
        _h.Clock.Advance(TimeSpan.FromSeconds(90));
        configurator.Apply();

        Assert.Single(_h.Log.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("rp_filter is 2", StringComparison.Ordinal));
        Assert.DoesNotContain(_h.Log.Entries, e => e.Level >= LogLevel.Warning && e.Message.Contains("rp_filter", StringComparison.Ordinal));
        Assert.Equal("2", _h.Sysctls["net/ipv4/conf/all/rp_filter"]);
        Assert.DoesNotContain(_h.Sysctls.Writes, w => w.Path.Contains("/all/rp_filter", StringComparison.Ordinal) || w.Path.Contains("/default/", StringComparison.Ordinal));
    }

    [Fact]
    public void Turning_ipv6_forwarding_on_tells_the_operator_about_router_advertisements()
    {
        var configurator = _h.New();

        configurator.Apply();

        Assert.Contains(_h.Log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("accept_ra is 2", StringComparison.Ordinal));
    }

    internal static WorkloadInterface Workload(string name = Name, bool ipv6 = true) =>
        new(name, Mac, [V4], ipv6 ? [V6] : [], ipv6 ? Gateway : null);

    private static void AssertNeighbour(NetlinkRequest request, int index, IPAddress address, byte[] mac)
    {
        var neighbour = Assert.IsType<ReplaceNeighbor>(request);
        Assert.Equal((index, address), (neighbour.InterfaceIndex, neighbour.Address));
        Assert.Equal(mac, neighbour.LinkAddress);
    }

    private static int IndexOf(NetlinkRequest request) => request switch
    {
        SetLinkUp r => r.InterfaceIndex,
        ReplaceNeighbor r => r.InterfaceIndex,
        ReplaceProxyNeighbor r => r.InterfaceIndex,
        _ => throw new ArgumentException($"unexpected {request}", nameof(request)),
    };
}
