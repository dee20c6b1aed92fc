using Felix.Agent.Calculation;
using static Felix.Agent.Tests.Calculation.Cluster;

namespace Felix.Agent.Tests.Calculation;

public class BatchTimeTests
{
    /// <summary>A clock that moves one millisecond each time it is read, so durations count readings.</summary>
    private sealed class SteppingClock : TimeProvider
    {
        private long _now;

        public override long TimestampFrequency => 1000;

        public override long GetTimestamp() => _now++;
    }

    [Fact]
    public void A_batch_counts_its_updates_and_its_flush_and_the_snapshot_counts_everything_before_in_sync()
    {
        var graph = new CalculationGraph(Me, remoteWorkloadRoutes: false, new SteppingClock());
        graph.OnUpdate(Rules("db"));
        graph.Flush();
        graph.OnUpdate(Ep("d1", Me, ["db"], "10.0.0.1"));
        graph.OnUpdate(Synced);

        graph.Flush();

        Assert.Equal(TimeSpan.FromMilliseconds(5), graph.LastBatchDuration);

        graph.OnUpdate(NoEp("d1"));
        graph.Flush();

        Assert.Equal(TimeSpan.FromMilliseconds(2), graph.LastBatchDuration);
    }
}
