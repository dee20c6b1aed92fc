using System.Net;
using Felix.Dataplane.Netlink;
using Felix.Dataplane.Routes;
using Felix.Dataplane.Tests.Fakes;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>
/// Seeded random histories against the fake kernel: interfaces and remote endpoints claiming and
/// dropping addresses (often the same ones), links appearing, going down, vanishing and coming back
/// (sometimes unannounced), someone else's routes, socket and dump failures, and traffic. After each
/// round the table's routes are exactly what the claims say given the links, other protocols' routes
/// are untouched, no flow of an address survives a change of where it goes, and a table restarted
/// over the result writes nothing.
/// </summary>
public sealed class RouteTablePropertyTests
{
    private static readonly string[] Interfaces = ["cali0", "cali1", "cali2", "cali3"];
    private static readonly string[] Owners = ["host2/ep0", "host2/ep1", "host3/ep2"];
    private static readonly IPAddress[] Gateways = [IPAddress.Parse("192.168.1.2"), IPAddress.Parse("192.168.1.3"), IPAddress.Parse("192.168.9.9")];
    private static readonly IPNetwork Uplink = IPNetwork.Parse("192.168.1.0/24");
    private static readonly IPNetwork ForeignRoute = IPNetwork.Parse("10.99.0.1/32");

    public static TheoryData<int> Seeds => [.. Enumerable.Range(1, 250)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Every_round_ends_with_the_kernel_as_claimed(int seed)
    {
        var random = new Random(seed);
        var version = seed % 5 == 0 ? IpVersion.V6 : IpVersion.V4;
        var addresses = Enumerable.Range(1, 8)
            .Select(i => IPNetwork.Parse(version == IpVersion.V4 ? $"10.65.0.{i}/32" : $"fd00::{i}/128")).ToArray();
        var harness = new RouteTableHarness();
        var kernel = harness.Netlink;
        var options = RouteTableHarness.Options with { MaxAttempts = 5, MaxConntrackFlushesPerApply = 2 };
        var table = harness.NewTable(version, options);
        var model = new ClaimModel();
        var foreign = new Dictionary<IPNetwork, RouteSpec>();
        var log = new List<string>();
        AddUplink(kernel);
        var unrelated = new RouteSpec(version == IpVersion.V4 ? ForeignRoute : IPNetwork.Parse("fd99::1/128"), 1, null, false, RouteScope.Universe, 3);
        kernel.AddRouteByHand(unrelated);

        for (var round = 0; round < 15; round++)
        {
            var announce = random.Next(5) > 0;
            var readBack = false;
            kernel.EmitEvents = announce;
            for (var step = random.Next(1, 7); step > 0; step--)
            {
                var change = random.Next(10) switch
                {
                    < 3 => SetLocal(random, table, model, addresses),
                    3 when version == IpVersion.V4 => SetRemote(random, table, model, addresses),
                    4 => ChangeLink(random, kernel),
                    5 => Interfere(random, kernel, addresses, foreign, ref readBack),
                    6 => Traffic(random, harness, model, addresses),
                    _ => SetLocal(random, table, model, addresses),
                };
                log.Add(change);
                harness.Timeline.Add("# " + change);
            }
            kernel.EmitEvents = true;
            if (!announce)
            {
                log.Add("events unheard");
                if (random.Next(2) == 0)
                {
                    kernel.LoseEvents();
                }
                else
                {
                    readBack = true;
                }
            }
            if (random.Next(4) == 0)
            {
                var failures = random.Next(1, 3);
                kernel.FailNextExecute(failures, applyFirstHalf: random.Next(2) == 0);
                log.Add($"{failures} socket failures");
            }
            if (random.Next(8) == 0)
            {
                kernel.FailNextList(1);
                log.Add("dump failure");
            }
            if (readBack)
            {
                // Between refreshes the table trusts its record; the refresh is what finds someone else's change.
                harness.Clock.Advance(options.RefreshInterval);
            }
            harness.Pump(table);
            for (var pass = 0; pass < 6 && table.HasPendingWork; pass++)
            {
                Check(await table.ApplyAsync(CancellationToken.None), "apply failed", seed, log, kernel);
                harness.Pump(table);
            }
            kernel.FailNextExecute(0);
            kernel.FailNextList(0);
            Check(!table.HasPendingWork, "work left after the applies", seed, log, kernel);
            AssertKernelAsClaimed(version, kernel, model, addresses, foreign, () => Describe(seed, log, kernel));
            Assert.Equal(unrelated, kernel.Route(unrelated.Destination));
            AssertNoStaleFlows(harness.Conntrack, model, () => Describe(seed, log, kernel) + "\nTIMELINE\n" + string.Join("\n", harness.Timeline.TakeLast(60)));
            harness.Clock.Advance(TimeSpan.FromSeconds(10));
        }

        var restarted = harness.NewTable(version, options);
        model.Define(restarted);
        var start = harness.Timeline.Count;
        Assert.True(await restarted.ApplyAsync(CancellationToken.None));
        // Only a route via a gateway no link reaches now, or to a destination a foreign route holds, is tried again, and refused again.
        Assert.All(harness.Timeline.Skip(start), step => Assert.Matches("-> (ENETUNREACH|EEXIST)$", step));
    }

    private static void AddUplink(FakeRouteNetlink kernel)
    {
        kernel.AddLink("eth0");
        kernel.AddConnectedNetwork("eth0", Uplink);
    }

    private static string SetLocal(Random random, RouteTable table, ClaimModel model, IPNetwork[] addresses)
    {
        var name = Interfaces[random.Next(Interfaces.Length)];
        var wanted = Pick(random, addresses, random.Next(4));
        table.SetRoutes(name, wanted);
        model.SetLocal(name, wanted);
        return $"{name} wants [{string.Join(", ", wanted)}]";
    }

    private static string SetRemote(Random random, RouteTable table, ClaimModel model, IPNetwork[] addresses)
    {
        var owner = Owners[random.Next(Owners.Length)];
        var gateway = Gateways[random.Next(Gateways.Length)];
        var wanted = Pick(random, addresses, random.Next(3));
        table.SetRemoteRoutes(owner, wanted, gateway);
        model.SetRemote(owner, gateway, wanted);
        return $"{owner} wants [{string.Join(", ", wanted)}] via {gateway}";
    }

    private static string ChangeLink(Random random, FakeRouteNetlink kernel)
    {
        var links = kernel.Links();
        var name = random.Next(6) == 0 ? "eth0" : Interfaces[random.Next(Interfaces.Length)];
        var link = links.FirstOrDefault(l => l.Name == name);
        if (link is null)
        {
            var up = random.Next(4) > 0;
            kernel.AddLink(name, up);
            if (name == "eth0")
            {
                kernel.AddConnectedNetwork(name, Uplink);
            }
            return $"link {name} added ({(up ? "up" : "down")})";
        }
        switch (random.Next(4))
        {
            case 0:
                kernel.DeleteLink(name);
                return $"link {name} deleted";
            case 1:
                kernel.RecreateLink(name);
                if (name == "eth0")
                {
                    kernel.AddConnectedNetwork(name, Uplink);
                }
                return $"link {name} recreated";
            default:
                kernel.SetLinkState(name, !link.IsUp);
                return $"link {name} {(link.IsUp ? "down" : "up")}";
        }
    }

    /// <summary>Someone else's change: one of our routes deleted, a stray of our protocol, or a route of another protocol added or removed.</summary>
    private static string Interfere(Random random, FakeRouteNetlink kernel, IPNetwork[] addresses, Dictionary<IPNetwork, RouteSpec> foreign, ref bool readBack)
    {
        readBack = true;
        var ours = kernel.RoutesOf(FamilyOf(addresses[0]), RouteTableHarness.Options.DeviceRouteProtocol);
        var links = kernel.Links().Where(l => l.IsUp).ToList();
        var scope = FamilyOf(addresses[0]) == IpVersion.V4 ? RouteScope.Link : RouteScope.Universe;
        var address = addresses[random.Next(addresses.Length)];
        switch (random.Next(4))
        {
            case 0 when ours.Count > 0:
                var victim = ours[random.Next(ours.Count)];
                kernel.DeleteRouteByHand(victim.Destination);
                return $"someone deleted {RouteTableHarness.Show(victim)}";
            case 1:
                // On lo, which never goes: only its owner removes it.
                var route = new RouteSpec(address, 1, null, false, scope, 3);
                kernel.AddRouteByHand(route);
                foreign[address] = route;
                return $"someone added a foreign {RouteTableHarness.Show(route)}";
            case 2 when foreign.Count > 0:
                var gone = foreign.Keys.ElementAt(random.Next(foreign.Count));
                foreign.Remove(gone);
                kernel.DeleteRouteByHand(gone);
                return $"someone deleted the foreign route to {gone}";
            default:
                var stray = new RouteSpec(address, links[random.Next(links.Count)].Index, null, false, scope, RouteTableHarness.Options.DeviceRouteProtocol);
                kernel.AddRouteByHand(stray);
                foreign.Remove(address);
                return $"someone added {RouteTableHarness.Show(stray)}";
        }
    }

    /// <summary>A flow to or from an address that is routed as claimed, tagged with where it goes.</summary>
    private static string Traffic(Random random, RouteTableHarness harness, ClaimModel model, IPNetwork[] addresses)
    {
        var address = addresses[random.Next(addresses.Length)];
        var route = harness.Netlink.Route(address);
        var winner = model.Winner(address);
        var links = harness.Netlink.Links();
        var routedAsClaimed = route is { Protocol: 80 } && winner is { } target
            && (target.Gateway is not null ? target.Gateway.Equals(route.Gateway) : links.Any(l => l.Index == route.InterfaceIndex && l.Name == target.Interface));
        if (!routedAsClaimed)
        {
            return $"no traffic to {address}";
        }
        var peer = IPAddress.Parse(address.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? "10.0.0.9" : "fd00::99");
        if (random.Next(2) == 0)
        {
            harness.Conntrack.AddFlow(peer, address.BaseAddress, tag: winner!.ToString()!);
        }
        else
        {
            harness.Conntrack.AddFlow(address.BaseAddress, peer, tag: winner!.ToString()!);
        }
        return $"flow with {address} ({winner})";
    }

    /// <summary>Our routes are exactly the claimed ones that can be programmed; a destination a foreign route holds keeps it, untouched.</summary>
    private static void AssertKernelAsClaimed(IpVersion version, FakeRouteNetlink kernel, ClaimModel model, IPNetwork[] addresses,
        Dictionary<IPNetwork, RouteSpec> foreign, Func<string> context)
    {
        var links = kernel.Links();
        var eth0 = links.FirstOrDefault(l => l.Name == "eth0" && l.IsUp);
        var expected = new List<string>();
        foreach (var address in addresses)
        {
            if (foreign.TryGetValue(address, out var held))
            {
                if (!held.Equals(kernel.Route(address)))
                {
                    Assert.Fail($"the foreign {RouteTableHarness.Show(held)} was changed\n{context()}");
                }
                continue;
            }
            switch (model.Winner(address))
            {
                case { Interface: { } name }:
                    if (links.FirstOrDefault(l => l.Name == name && l.IsUp) is { } link)
                    {
                        expected.Add(RouteTableHarness.Show(new RouteSpec(address, link.Index, null, false,
                            version == IpVersion.V4 ? RouteScope.Link : RouteScope.Universe, 80)));
                    }
                    break;
                case { Gateway: { } gateway } when eth0 is not null && Uplink.Contains(gateway):
                    expected.Add(RouteTableHarness.Show(new RouteSpec(address, eth0.Index, gateway, false, RouteScope.Universe, 80)));
                    break;
            }
        }
        var actual = kernel.RoutesOf(version, 80).Select(RouteTableHarness.Show).ToList();
        if (!expected.Order(StringComparer.Ordinal).SequenceEqual(actual.Order(StringComparer.Ordinal)))
        {
            Assert.Fail($"expected [{string.Join(", ", expected)}]\nactual [{string.Join(", ", actual)}]\n{context()}");
        }
    }

    private static void AssertNoStaleFlows(FakeConntrack conntrack, ClaimModel model, Func<string> context)
    {
        foreach (var flow in conntrack.Flows)
        {
            var address = flow.OrigSource.ToString() is "10.0.0.9" or "fd00::99" ? flow.OrigDestination : flow.OrigSource;
            var winner = model.Winner(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            if (flow.Tag != winner?.ToString())
            {
                Assert.Fail($"a flow of {address} to {flow.Tag} outlived the change to {winner?.ToString() ?? "nothing"}\n{context()}");
            }
        }
    }

    private static IPNetwork[] Pick(Random random, IPNetwork[] addresses, int count) =>
        [.. addresses.OrderBy(_ => random.Next()).Take(count)];

    private static IpVersion FamilyOf(IPNetwork network) =>
        network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? IpVersion.V4 : IpVersion.V6;

    private static void Check(bool condition, string what, int seed, List<string> log, FakeRouteNetlink kernel)
    {
        if (!condition)
        {
            Assert.Fail($"{what}\n{Describe(seed, log, kernel)}");
        }
    }

    private static string Describe(int seed, List<string> log, FakeRouteNetlink kernel) =>
        $"seed {seed}; links [{string.Join(", ", kernel.Links().Select(l => $"{l.Index}:{l.Name}{(l.IsUp ? "" : "(down)")}"))}]; history:\n  "
        + string.Join("\n  ", log.TakeLast(60));

    /// <summary>What the test told the table, and who wins each address by the documented rule.</summary>
    private sealed class ClaimModel
    {
        private readonly Dictionary<string, IPNetwork[]> _local = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (IPAddress Gateway, IPNetwork[] Destinations)> _remote = new(StringComparer.Ordinal);

        public void SetLocal(string name, IPNetwork[] destinations) => _local[name] = destinations;

        public void SetRemote(string owner, IPAddress gateway, IPNetwork[] destinations) => _remote[owner] = (gateway, destinations);

        public Target? Winner(IPNetwork address)
        {
            var local = _local.Where(l => l.Value.Contains(address)).Select(l => l.Key).Order(StringComparer.Ordinal).FirstOrDefault();
            if (local is not null)
            {
                return new Target(local, null);
            }
            var remote = _remote.Where(r => r.Value.Destinations.Contains(address)).OrderBy(r => r.Key, StringComparer.Ordinal).FirstOrDefault();
            return remote.Key is null ? null : new Target(null, remote.Value.Gateway);
        }

        public void Define(RouteTable table)
        {
            foreach (var (name, destinations) in _local)
            {
                table.SetRoutes(name, destinations);
            }
            foreach (var (owner, (gateway, destinations)) in _remote)
            {
                table.SetRemoteRoutes(owner, destinations, gateway);
            }
        }
    }

    private sealed record Target(string? Interface, IPAddress? Gateway)
    {
        public override string ToString() => Interface is not null ? $"dev {Interface}" : $"via {Gateway}";
    }
}
