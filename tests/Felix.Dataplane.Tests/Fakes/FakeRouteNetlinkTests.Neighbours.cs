using System.Net;
using Felix.Dataplane.Netlink;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>Neighbour and proxy entries, the up flag, and the hooks the interface configuration's tests use.</summary>
public sealed partial class FakeRouteNetlinkTests
{
    private static readonly IPAddress Neighbour = IPAddress.Parse("10.65.0.1");
    private static readonly IPAddress Gateway = IPAddress.Parse("fe80::1");
    private static readonly byte[] Mac = [0x96, 0xc4, 0x86, 0x4d, 0xd7, 0x2c];

    private void AddEntries(int index) =>
        Assert.All(_kernel.Execute([new ReplaceNeighbor(index, Neighbour, Mac), new ReplaceProxyNeighbor(index, Gateway)]), Assert.Null);

    [Fact]
    public void A_neighbour_or_proxy_entry_of_the_same_link_and_address_is_replaced_not_added()
    {
        var cali1 = _kernel.AddLink("cali1");
        var cali2 = _kernel.AddLink("cali2");

        var results = _kernel.Execute(
        [
            new ReplaceNeighbor(cali1, Neighbour, Mac), new ReplaceNeighbor(cali1, Neighbour, [0xee, 0xee, 0xee, 0xee, 0xee, 0xee]),
            new ReplaceNeighbor(cali2, Neighbour, Mac), new ReplaceProxyNeighbor(cali1, Gateway), new ReplaceProxyNeighbor(cali1, Gateway),
        ]);

        Assert.All(results, Assert.Null);
        Assert.Equal(KeyValuePair.Create(Neighbour, "EEEEEEEEEEEE"), Assert.Single(_kernel.NeighboursOf(cali1)));
        Assert.Equal(KeyValuePair.Create(Neighbour, "96C4864DD72C"), Assert.Single(_kernel.NeighboursOf(cali2)));
        Assert.Equal(Gateway, Assert.Single(_kernel.ProxiesOf(cali1)));
        Assert.Empty(_kernel.ProxiesOf(cali2));
    }

    [Fact]
    public void Link_up_neighbour_and_proxy_requests_for_a_missing_or_deleted_link_are_ENODEV()
    {
        var gone = _kernel.AddLink("cali1", up: false);
        _kernel.DeleteLink("cali1");

        foreach (var index in new[] { gone, 99 })
        {
            var results = _kernel.Execute([new SetLinkUp(index), new ReplaceNeighbor(index, Neighbour, Mac), new ReplaceProxyNeighbor(index, Gateway)]);

            Assert.Equal(["ENODEV", "ENODEV", "ENODEV"], results.Select(r => r?.Name));
            Assert.Empty(_kernel.NeighboursOf(index));
            Assert.Empty(_kernel.ProxiesOf(index));
        }
        Assert.DoesNotContain(_kernel.Links(), l => l.Index == gone || l.Index == 99);
    }

    [Fact]
    public void SetLinkUp_sets_the_up_flag_and_announces_it_only_when_it_changes()
    {
        var cali1 = _kernel.AddLink("cali1", up: false);
        _kernel.TakeEvents();

        Assert.Null(One(new SetLinkUp(cali1)));
        Assert.Null(One(new SetLinkUp(cali1)));

        Assert.True(_kernel.Link("cali1")!.IsUp);
        var updated = Assert.IsType<LinkUpdated>(Assert.Single(_kernel.TakeEvents()));
        Assert.Equal((cali1, "cali1", true), (updated.Link.Index, updated.Link.Name, updated.Link.IsUp));
    }

    [Fact]
    public void A_deleted_link_takes_its_neighbour_and_proxy_entries_and_no_other_link_s()
    {
        var cali1 = _kernel.AddLink("cali1");
        var cali2 = _kernel.AddLink("cali2");
        AddEntries(cali1);
        AddEntries(cali2);

        _kernel.DeleteLink("cali1");

        Assert.Empty(_kernel.NeighboursOf(cali1));
        Assert.Empty(_kernel.ProxiesOf(cali1));
        Assert.Single(_kernel.NeighboursOf(cali2));
        Assert.Single(_kernel.ProxiesOf(cali2));
        var recreated = _kernel.AddLink("cali1");
        Assert.Empty(_kernel.NeighboursOf(recreated));
    }

    [Fact]
    public void A_link_going_down_flushes_its_permanent_and_proxy_entries_and_a_flush_by_hand_only_the_permanent_ones()
    {
        var cali1 = _kernel.AddLink("cali1");
        var cali2 = _kernel.AddLink("cali2");
        AddEntries(cali1);
        AddEntries(cali2);

        _kernel.SetLinkState("cali1", up: false);
        _kernel.FlushNeighboursByHand("cali2");

        Assert.Empty(_kernel.NeighboursOf(cali1));
        Assert.Empty(_kernel.ProxiesOf(cali1));
        Assert.Empty(_kernel.NeighboursOf(cali2));
        Assert.Equal(Gateway, Assert.Single(_kernel.ProxiesOf(cali2)));
    }

    [Fact]
    public void BeforeRequest_runs_before_each_request_so_a_link_can_vanish_in_the_middle_of_a_batch()
    {
        var cali1 = _kernel.AddLink("cali1", up: false);
        var seen = new List<NetlinkRequest>();
        _kernel.BeforeRequest = r =>
        {
            seen.Add(r);
            if (r is ReplaceNeighbor)
            {
                _kernel.DeleteLink("cali1");
            }
        };
        NetlinkRequest[] requests = [new SetLinkUp(cali1), new ReplaceNeighbor(cali1, Neighbour, Mac), new ReplaceProxyNeighbor(cali1, Gateway)];

        var results = _kernel.Execute(requests);

        Assert.Equal(requests, seen);
        Assert.Equal([null, "ENODEV", "ENODEV"], results.Select(r => r?.Name));
        Assert.Equal(requests, _kernel.Requests);
    }

    [Fact]
    public void A_socket_failure_fails_every_dump_and_execute_with_its_message_until_cleared()
    {
        var cali1 = _kernel.AddLink("cali1", up: false);
        _kernel.SocketFailure = "recvmsg: ENOBUFS";

        Assert.Equal("recvmsg: ENOBUFS", Assert.Throws<NetlinkException>(() => _kernel.ListLinks()).Message);
        Assert.Equal("recvmsg: ENOBUFS", Assert.Throws<NetlinkException>(() => _kernel.ListRoutes(IpVersion.V4, 80)).Message);
        Assert.Equal("recvmsg: ENOBUFS", Assert.Throws<NetlinkException>(() => _kernel.Execute([new SetLinkUp(cali1)])).Message);
        Assert.False(_kernel.Link("cali1")!.IsUp);
        Assert.Equal((1, 1, 1), (_kernel.ListLinksCalls, _kernel.ListRoutesCalls, _kernel.ExecuteCalls));

        _kernel.SocketFailure = null;
        Assert.Null(One(new SetLinkUp(cali1)));
        Assert.True(_kernel.Link("cali1")!.IsUp);
        Assert.Equal(2, _kernel.ExecuteCalls);
    }
}
