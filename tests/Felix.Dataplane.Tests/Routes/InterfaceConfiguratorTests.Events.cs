using Felix.Dataplane.Netlink;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Tests.Routes;

public sealed partial class InterfaceConfiguratorTests
{
    [Fact]
    public void The_links_creation_event_arriving_after_we_set_it_up_is_not_taken_for_drift()
    {
        var configurator = _h.New();
        _h.CreateInterface(Name);
        configurator.SetInterface(Workload());
        Assert.True(configurator.Apply());
        var events = _h.Netlink.TakeEvents();
        var requests = _h.Netlink.Requests.Count;

        // The creation event (link down) is handled before the one our "up" caused.
        configurator.OnLinkEvent(events.OfType<LinkUpdated>().First(e => e.Link.Name == Name && !e.Link.IsUp));
        Assert.True(configurator.Apply());

        Assert.Equal(requests, _h.Netlink.Requests.Count);
        Assert.True(configurator.IsConfigured(Name));
        Assert.DoesNotContain(_h.Log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("changed by someone else", StringComparison.Ordinal));
    }

    [Fact]
    public void A_link_taken_down_after_our_up_event_came_back_is_set_up_again()
    {
        var configurator = _h.New();
        var index = _h.CreateInterface(Name);
        configurator.SetInterface(Workload());
        Assert.True(configurator.Apply());
        _h.Deliver(configurator);

        _h.Netlink.SetLinkState(Name, up: false);
        _h.Deliver(configurator);
        Assert.True(configurator.Apply());

        Assert.Equal(new SetLinkUp(index), _h.Netlink.Requests.Last(r => r is SetLinkUp));
        Assert.Equal(2, _h.Netlink.Requests.Count(r => r is SetLinkUp));
        Assert.True(_h.Netlink.Link(Name)!.IsUp);
    }
}
