using System.Diagnostics;
using Felix.Agent.Datastore.Etcd;

namespace Felix.Bench;

/// <summary>
/// Sustained churn: <c>rate</c> endpoint changes a second for <c>seconds</c>, each one putting or
/// deleting an endpoint of a pool (whose veths exist), in turn, so every endpoint flips on and off
/// many times. The puts follow a fixed schedule, sent back to back when the bench falls behind it;
/// the rate achieved is reported. Then, from the last put, the lag: until the kernel holds exactly
/// the final state (the route and <c>felix-to-</c> chain of every endpoint left on, neither of any
/// left off), polled through the probe. Applies per second come from the agent's apply histogram's
/// count, CPU from <c>/proc/PID/stat</c>, both over churn and lag together.
/// </summary>
internal static class E2eChurn
{
    private static readonly TimeSpan LagTimeout = TimeSpan.FromSeconds(120);

    public sealed record Result(int Changes, double Seconds, double AppliesPerSecond, double LagMillis, double CpuOwn, double CpuChildren, double PeakRssMegabytes);

    public static async Task<Result> RunAsync(GrpcEtcdStore store, KernelProbe probe, E2eAgent agent, IReadOnlyList<int> pool,
        IReadOnlyDictionary<string, int> linkIndexes, int fillers, int rate, int seconds)
    {
        const string Applies = "felix_int_dataplane_apply_time_seconds_count";
        var on = new bool[pool.Count];
        var changes = rate * seconds;
        agent.ResetPeakRss();
        var (appliesBefore, cpuBefore) = (await agent.MetricAsync(Applies), agent.CpuSeconds());
        var started = Stopwatch.GetTimestamp();
        var deadline = TimeSpan.FromSeconds(seconds * 3);
        var sent = 0;
        for (; sent < changes && Stopwatch.GetElapsedTime(started) < deadline; sent++)
        {
            var due = TimeSpan.FromSeconds((double)sent / rate) - Stopwatch.GetElapsedTime(started);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due);
            }
            var (slot, e) = (sent % pool.Count, pool[sent % pool.Count]);
            on[slot] = !on[slot];
            await (on[slot]
                ? store.PutAsync(E2eModel.Key(e), E2eModel.Endpoint(e, fillers), 0, CancellationToken.None)
                : store.DeleteAsync(E2eModel.Key(e), CancellationToken.None));
        }
        var churnSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var lastPut = Stopwatch.GetTimestamp();
        bool Settled() => Enumerable.Range(0, pool.Count).All(slot =>
        {
            var e = pool[slot];
            return probe.HasRoute(E2eModel.Address(e), linkIndexes[E2eModel.InterfaceName(e)], E2eSamples.RouteProtocol) == on[slot]
                && probe.HasChain("filter", $"felix-to-{E2eModel.ChainSuffix(e)}") == on[slot];
        });
        while (!Settled())
        {
            if (Stopwatch.GetElapsedTime(lastPut) > LagTimeout)
            {
                agent.CheckRunning();
                throw new TimeoutException($"the kernel did not reach the churn's final state within {LagTimeout.TotalSeconds:0} s:\n{agent.Tail()}");
            }
            await Task.Delay(10);
        }
        var lag = Stopwatch.GetElapsedTime(lastPut).TotalMilliseconds;
        var total = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var (appliesAfter, cpuAfter) = (await agent.MetricAsync(Applies), agent.CpuSeconds());
        var result = new Result(sent, churnSeconds, (appliesAfter - appliesBefore) / total, lag,
            cpuAfter.Own - cpuBefore.Own, cpuAfter.Children - cpuBefore.Children, agent.PeakRssMegabytes());

        // Untimed: the endpoints left on go, so the next figure starts from the size's own endpoints.
        for (var slot = 0; slot < pool.Count; slot++)
        {
            if (on[slot])
            {
                await store.DeleteAsync(E2eModel.Key(pool[slot]), CancellationToken.None);
                on[slot] = false;
            }
        }
        var cleaning = Stopwatch.GetTimestamp();
        while (!Settled() && Stopwatch.GetElapsedTime(cleaning) < LagTimeout)
        {
            await Task.Delay(50);
        }
        return result;
    }
}
