using System.Net;
using Felix.Dataplane.Routes;
using Felix.Dataplane.Tests.Fakes;
using Felix.Dataplane.Tests.Ipsets;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>One flush per batch of addresses, its verdict, and what it logs.</summary>
public sealed class ConntrackFlusherTests
{
    [Fact]
    public void Every_flow_naming_an_address_goes_in_one_flush_whichever_direction_and_no_other()
    {
        var conntrack = new FakeConntrack();
        conntrack.AddFlow(Ip("10.65.0.1"), Ip("10.0.0.9"), tag: "opened");
        conntrack.AddFlow(Ip("10.0.0.9"), Ip("10.96.0.10"), replySource: Ip("10.65.0.2"), tag: "DNATed to");
        conntrack.AddFlow(Ip("10.0.0.9"), Ip("10.0.0.8"), replyDestination: Ip("10.65.0.1"), tag: "SNATed to");
        conntrack.AddFlow(Ip("10.65.0.3"), Ip("10.0.0.9"), tag: "other");
        var log = new ListLogger();

        Assert.True(new ConntrackFlusher(conntrack, log).Flush(IpVersion.V4, [Ip("10.65.0.1"), Ip("10.65.0.2")]));

        Assert.Equal(["other"], conntrack.Flows.Select(f => f.Tag));
        Assert.Single(conntrack.Calls);
        Assert.DoesNotContain(log.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public void No_addresses_is_no_flush()
    {
        var conntrack = new FakeConntrack();

        Assert.True(new ConntrackFlusher(conntrack, new ListLogger()).Flush(IpVersion.V4, []));

        Assert.Empty(conntrack.Calls);
    }

    [Fact]
    public void A_long_list_of_addresses_is_logged_by_its_first_five_and_a_count()
    {
        var conntrack = new FakeConntrack { Failure = "socket gone" };
        var log = new ListLogger();
        IPAddress[] addresses = [.. Enumerable.Range(1, 8).Select(i => Ip($"10.65.0.{i}"))];

        Assert.False(new ConntrackFlusher(conntrack, log).Flush(IpVersion.V4, addresses));

        var line = Assert.Single(log.Entries).Message;
        Assert.Contains("10.65.0.1, 10.65.0.2, 10.65.0.3, 10.65.0.4, 10.65.0.5 and 3 more", line, StringComparison.Ordinal);
        Assert.EndsWith("socket gone", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_refusal_fails_the_flush_with_the_kernels_reason()
    {
        var conntrack = new FakeConntrack();
        conntrack.AddFlow(Ip("fd00::1"), Ip("fd00::9"));
        conntrack.RefuseNext(1);
        var log = new ListLogger();

        Assert.False(new ConntrackFlusher(conntrack, log).Flush(IpVersion.V6, [Ip("fd00::1")]));

        Assert.Contains("EBUSY", Assert.Single(log.Entries, e => e.Level == LogLevel.Error).Message, StringComparison.Ordinal);
        Assert.Single(conntrack.Flows);
    }

    private static IPAddress Ip(string text) => IPAddress.Parse(text);
}
