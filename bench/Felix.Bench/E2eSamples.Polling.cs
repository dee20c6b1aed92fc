using System.Diagnostics;

namespace Felix.Bench;

/// <summary>The samples' shared parts: polling the probe, waiting for the agent to settle, and the raw-tool floors and checks.</summary>
internal sealed partial class E2eSamples
{
    private const string FloorChain = "bench-floor";
    private const string FloorSet = "bench-floor";

    /// <summary>Generous: legacy rewrites its whole table on every restore, seconds at 10k endpoints on a loaded machine.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Longer than the agent's minimum interval between applies (100 ms), so the next put is applied at once.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(150);

    /// <summary>Polls both conditions until each has held once; returns when each first did.</summary>
    private async Task<(long First, long Second)> PollAsync(string what, Func<bool> first, Func<bool> second)
    {
        var started = Stopwatch.GetTimestamp();
        long? firstAt = null, secondAt = null;
        while (true)
        {
            firstAt ??= first() ? Stopwatch.GetTimestamp() : null;
            secondAt ??= second() ? Stopwatch.GetTimestamp() : null;
            if (firstAt is { } a && secondAt is { } b)
            {
                return (a, b);
            }
            if (Stopwatch.GetElapsedTime(started) > Timeout)
            {
                agent.CheckRunning();
                throw new TimeoutException($"{what} did not happen within {Timeout.TotalSeconds:0} s " +
                    $"(first condition {(firstAt is null ? "not met" : "met")}, second {(secondAt is null ? "not met" : "met")}):\n{agent.Tail()}");
            }
            await Task.Delay(1);
        }
    }

    /// <summary>Waits for the agent to log an apply after <paramref name="since"/> (bounded), then <see cref="Settle"/>.</summary>
    private async Task SettleAsync(long since)
    {
        var started = Stopwatch.GetTimestamp();
        while (agent.AppliesSince(since).Count == 0 && Stopwatch.GetElapsedTime(started) < Timeout)
        {
            await Task.Delay(5);
        }
        await Task.Delay(Settle);
    }

    /// <summary>The sample's figures; the applies' log lines may arrive just after the probe saw their result.</summary>
    private async Task<Sample> SampleAsync(long started, long firstAt, long secondAt)
    {
        var seenAt = Math.Max(firstAt, secondAt);
        var applies = agent.AppliesSince(started);
        for (var wait = 0; wait < 100 && applies.Count == 0; wait++)
        {
            await Task.Delay(5);
            applies = agent.AppliesSince(started);
        }
        var until = seenAt + Stopwatch.Frequency / 2;
        applies = [.. applies.Where(a => a.ReadAt <= until)];
        var applyStart = applies.Count == 0
            ? double.NaN
            : Stopwatch.GetElapsedTime(started, applies[0].ReadAt).TotalMilliseconds - applies[0].Millis;
        double Since(long at) => Stopwatch.GetElapsedTime(started, at).TotalMilliseconds;
        return new Sample(Since(seenAt), Since(firstAt), Since(secondAt), applyStart, applies.Sum(a => a.Millis), applies.Count);
    }

    /// <summary>The chain's rules as the backend's tool lists them (<c>-A chain …</c> lines).</summary>
    private async Task<string> ListChainAsync(string chain)
    {
        var listed = await netns.RunCheckedAsync($"iptables-{backend}", ["-t", "filter", "-S", chain]);
        return string.Join('\n', listed.StandardOutput.Split('\n').Where(l => l.StartsWith($"-A {chain} ", StringComparison.Ordinal)));
    }

    /// <summary>Checks the probe against the tools: the chain as the backend's tool lists it (its rules returned), and the route.</summary>
    private async Task<string> CheckedChainAsync(string chain, System.Net.IPAddress address, string interfaceName)
    {
        var rules = await ListChainAsync(chain);
        var routes = await netns.RunCheckedAsync("ip", ["-4", "route", "show", "dev", interfaceName, "proto", RouteProtocol.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        if (!routes.StandardOutput.Contains(address.ToString(), StringComparison.Ordinal) || rules.Length == 0)
        {
            throw new InvalidOperationException($"the probe saw {chain} and the route to {address}; the tools list: {rules} / {routes.StandardOutput.Trim()}");
        }
        return rules;
    }

    private async Task CreateFloorSetAsync(int members)
    {
        var script = new System.Text.StringBuilder($"create {FloorSet} hash:ip family inet maxelem 1048576\n");
        for (var m = 0; m < members; m++)
        {
            script.Append($"add {FloorSet} 10.{128 + (m >> 16)}.{(m >> 8) & 0xff}.{m & 0xff}\n");
        }
        await netns.RunCheckedAsync("ipset", ["restore"], script.ToString());
    }

    /// <summary>A raw <c>ipset add</c> of one member, timed; removed again, untimed.</summary>
    private async Task<double> FloorMemberAsync()
    {
        var started = Stopwatch.GetTimestamp();
        await netns.RunCheckedAsync("ipset", ["add", FloorSet, "10.250.0.1"]);
        var millis = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await netns.RunCheckedAsync("ipset", ["del", FloorSet, "10.250.0.1"]);
        return millis;
    }
}
