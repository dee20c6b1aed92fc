using System.Diagnostics;
using System.Globalization;
using System.Net;
using Felix.IntegrationTests.Fixtures.EndToEnd;

namespace Felix.IntegrationTests.Faults;

/// <summary>One endpoint of the churn pool: interface, address and key derived from its number.</summary>
internal sealed record LoadEndpoint(string HostName, int Number)
{
    public string Interface => $"cali{Number:x11}";

    public string Peer => $"veth{Number:x11}";

    public IPAddress Address => new([10, 70, (byte)(Number >> 8), (byte)Number]);

    public string Key => $"/calico/v1/host/{HostName}/workload/load/w{Number}/endpoint/{Number:x11}";

    public string Json(string profile) => string.Create(CultureInfo.InvariantCulture,
        $$"""{"state":"active","name":"{{Interface}}","mac":"ee:ee:00:00:{{Number >> 8:x2}}:{{Number & 0xff:x2}}","profile_ids":["{{profile}}"],"ipv4_nets":["{{Address}}/32"],"ipv6_nets":[]}""");
}

/// <summary>
/// What the agent programmed for the churn pool, read from the host: its routes (protocol 80),
/// its <c>felix-to-</c> chains and the members of the pool profile's tag set. The churn's final
/// state is reached when each of the three holds exactly the endpoints left on.
/// </summary>
internal sealed class LoadKernelState(ClusterHost host, IReadOnlyList<LoadEndpoint> pool)
{
    private const string TagSet = "felix-v4-load";

    /// <summary>Polls every 50 ms until the kernel holds exactly <paramref name="expected"/>; how long it took, or null at <paramref name="timeout"/>.</summary>
    public async Task<TimeSpan?> WaitUntilExactlyAsync(IReadOnlyCollection<LoadEndpoint> expected, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (await HoldsExactlyAsync(expected))
            {
                return clock.Elapsed;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }

        return null;
    }

    public async Task<string> DescribeAsync(IReadOnlyCollection<LoadEndpoint> expected)
    {
        var (routes, chains, members) = await ReadAsync();
        var want = expected.Select(e => e.Number).ToHashSet();
        return $"expected {want.Count} on; routes {routes.Count} (extra {routes.Except(want).Count()}, missing {want.Except(routes).Count()}), " +
            $"chains {chains.Count} (extra {chains.Except(want).Count()}, missing {want.Except(chains).Count()}), " +
            $"set members {members.Count} (extra {members.Except(want).Count()}, missing {want.Except(members).Count()})";
    }

    private async Task<bool> HoldsExactlyAsync(IReadOnlyCollection<LoadEndpoint> expected)
    {
        var (routes, chains, members) = await ReadAsync();
        var want = expected.Select(e => e.Number).ToHashSet();
        return routes.SetEquals(want) && chains.SetEquals(want) && members.SetEquals(want);
    }

    private async Task<(HashSet<int> Routes, HashSet<int> Chains, HashSet<int> Members)> ReadAsync()
    {
        var byInterface = pool.ToDictionary(e => e.Interface, e => e.Number, StringComparer.Ordinal);
        var byAddress = pool.ToDictionary(e => e.Address.ToString(), e => e.Number, StringComparer.Ordinal);
        var routes = new HashSet<int>();
        var routeText = (await host.Namespace.IpCheckedAsync("-4", "route", "show", "proto", "80")).StandardOutput;
        foreach (var line in routeText.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var words = line.Split(' ');
            var dev = Array.IndexOf(words, "dev");
            if (dev > 0 && byInterface.TryGetValue(words[dev + 1], out var number) && byAddress.GetValueOrDefault(words[0]) == number)
            {
                routes.Add(number);
            }
        }

        var chains = new HashSet<int>();
        var save = (await host.Namespace.ExecCheckedAsync("iptables-nft-save", "-t", "filter")).StandardOutput;
        foreach (var line in save.Split('\n'))
        {
            if (line.StartsWith(":felix-to-", StringComparison.Ordinal)
                && byInterface.TryGetValue("cali" + line[":felix-to-".Length..line.IndexOf(' ', StringComparison.Ordinal)], out var number))
            {
                chains.Add(number);
            }
        }

        var members = new HashSet<int>();
        var set = await host.Namespace.ExecAsync("ipset", "save", TagSet);
        foreach (var line in set.StandardOutput.Split('\n'))
        {
            var words = line.Split(' ');
            if (words is ["add", TagSet, var address, ..] && byAddress.TryGetValue(address, out var number))
            {
                members.Add(number);
            }
        }

        return (routes, chains, members);
    }
}
