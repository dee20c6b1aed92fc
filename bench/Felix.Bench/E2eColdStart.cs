using System.Diagnostics;
using Felix.Dataplane;
using Felix.Dataplane.Netlink;

namespace Felix.Bench;

/// <summary>
/// The cold start's floor: the final kernel state the agent programmed (its tables as the backend's
/// save prints them, its sets as <c>ipset save</c> does, its routes as netlink lists them), captured
/// once it is ready and stopped, the namespace flushed, and that state written again the fastest
/// way the tools allow: one <c>ipset restore</c>, one <c>iptables-restore</c> of every table, and
/// the routes pipelined over one netlink socket, as the agent's route table sends them.
/// </summary>
internal static class E2eColdStart
{
    public sealed record KernelState(string Iptables, string Ipsets, IReadOnlyList<RouteSpec> Routes)
    {
        public int Chains => Iptables.Split('\n').Count(l => l.StartsWith(':'));

        public int Rules => Iptables.Split('\n').Count(l => l.StartsWith("-A ", StringComparison.Ordinal));

        public int SetLines => Ipsets.Split('\n').Count(l => l.Length > 0);
    }

    /// <summary>The floor's three parts in milliseconds, in the order the agent writes them.</summary>
    public sealed record Floor(double Sets, double Iptables, double Routes)
    {
        public double Total => Sets + Iptables + Routes;
    }

    public static async Task<KernelState> CaptureAsync(BenchNamespace netns, RouteNetlink links, string backend)
    {
        var iptables = await netns.RunCheckedAsync($"iptables-{backend}-save", []);
        var ipsets = await netns.RunCheckedAsync("ipset", ["save"]);
        return new KernelState(
            string.Join('\n', iptables.StandardOutput.Split('\n').Where(l => !l.StartsWith('#'))),
            ipsets.StandardOutput, links.ListRoutes(IpVersion.V4, E2eSamples.RouteProtocol));
    }

    /// <summary>Removes every chain, set and agent route of the namespace: a restore of each table with nothing in it, then the sets, then the routes.</summary>
    public static async Task FlushAsync(BenchNamespace netns, RouteNetlink links, string backend)
    {
        var saved = await netns.RunCheckedAsync($"iptables-{backend}-save", []);
        var empty = string.Concat(saved.StandardOutput.Split('\n').Where(l => l.StartsWith('*')).Select(t => $"{t}\nCOMMIT\n"));
        if (empty.Length > 0)
        {
            await netns.RunCheckedAsync($"iptables-{backend}-restore", [], empty);
        }
        await netns.RunCheckedAsync("ipset", ["destroy"]);
        var routes = links.ListRoutes(IpVersion.V4, E2eSamples.RouteProtocol);
        Check(links.Execute([.. routes.Select(r => new DeleteRoute(r))]), "deleting the agent's routes");
        var left = await CaptureAsync(netns, links, backend);
        if (left.Rules > 0 || left.SetLines > 0 || left.Routes.Count > 0)
        {
            throw new InvalidOperationException($"flushing left {left.Rules} rules, {left.SetLines} set lines and {left.Routes.Count} routes");
        }
    }

    /// <summary>Writes <paramref name="state"/> into a flushed namespace, each part timed.</summary>
    public static async Task<Floor> RestoreAsync(BenchNamespace netns, RouteNetlink links, string backend, KernelState state)
    {
        var started = Stopwatch.GetTimestamp();
        await netns.RunCheckedAsync("ipset", ["restore"], state.Ipsets);
        var sets = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        started = Stopwatch.GetTimestamp();
        await netns.RunCheckedAsync($"iptables-{backend}-restore", [], state.Iptables + "\n");
        var iptables = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        started = Stopwatch.GetTimestamp();
        Check(links.Execute([.. state.Routes.Select(r => new AddRoute(r))]), "adding the captured routes");
        return new Floor(sets, iptables, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private static void Check(IReadOnlyList<NetlinkError?> results, string what)
    {
        if (results.FirstOrDefault(r => r is not null) is { } error)
        {
            throw new InvalidOperationException($"{what}: {error}");
        }
    }
}
