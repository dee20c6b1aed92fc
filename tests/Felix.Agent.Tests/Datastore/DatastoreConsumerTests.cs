using System.Threading.Channels;
using Felix.Agent.Datastore;

namespace Felix.Agent.Tests.Datastore;

public class DatastoreConsumerTests
{
    private sealed class Recorder : IDatastoreListener
    {
        public List<string> Calls { get; } = [];

        public TaskCompletionSource BatchEnded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OnUpdate(DatastoreUpdate update) => Calls.Add(update.GetType().Name);

        public void OnBatchEnd()
        {
            Calls.Add("batch end");
            BatchEnded.TrySetResult();
        }
    }

    [Fact]
    public async Task Updates_waiting_together_are_one_batch()
    {
        var channel = Channel.CreateUnbounded<DatastoreUpdate>();
        var key = new Felix.Agent.Model.HostIpKey("node2");
        channel.Writer.TryWrite(new HostIpRemoved(key));
        channel.Writer.TryWrite(new HostIpRemoved(key));
        channel.Writer.TryWrite(new DatastoreInSync());
        var recorder = new Recorder();
        using var consumer = new DatastoreConsumer(channel.Reader, [recorder]);

        await consumer.StartAsync(CancellationToken.None);
        await recorder.BatchEnded.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await consumer.StopAsync(CancellationToken.None);

        Assert.Equal(["HostIpRemoved", "HostIpRemoved", "DatastoreInSync", "batch end"], recorder.Calls);
    }
}
