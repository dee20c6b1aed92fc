using System.Threading.Channels;
using Microsoft.Extensions.Hosting;

namespace Felix.Agent.Datastore;

/// <summary>Something inside the agent that records datastore updates (no I/O in the handler).</summary>
public interface IDatastoreListener
{
    void OnUpdate(DatastoreUpdate update);

    /// <summary>Every update available right now has been handed over: a good moment to compute.</summary>
    void OnBatchEnd()
    {
    }
}

/// <summary>
/// The one reader of the datastore's update channel: hands every update, in order, to each
/// listener on this loop's thread, so listeners own their state without locks. Updates already
/// waiting are drained as one batch before <see cref="IDatastoreListener.OnBatchEnd"/>, so a burst
/// (a snapshot, a resync) is computed once, not once per key.
/// </summary>
public sealed class DatastoreConsumer : BackgroundService
{
    private readonly ChannelReader<DatastoreUpdate> _updates;
    private readonly IReadOnlyList<IDatastoreListener> _listeners;

    public DatastoreConsumer(ChannelReader<DatastoreUpdate> updates, IEnumerable<IDatastoreListener> listeners)
    {
        _updates = updates;
        _listeners = [.. listeners];
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (await _updates.WaitToReadAsync(stoppingToken))
        {
            while (_updates.TryRead(out var update))
            {
                foreach (var listener in _listeners)
                {
                    listener.OnUpdate(update);
                }
            }
            foreach (var listener in _listeners)
            {
                listener.OnBatchEnd();
            }
        }
    }
}
