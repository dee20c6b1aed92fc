using Felix.Agent.Model;

namespace Felix.Agent.Datastore;

/// <summary>
/// Removes a local endpoint's status key when the endpoint leaves the datastore, so etcd never
/// keeps a status for a workload that is gone. Records only: the reporter does the write.
/// </summary>
public sealed class EndpointStatusCleanup : IDatastoreListener
{
    private readonly EndpointStatusReporter _reporter;
    private readonly string _hostname;

    public EndpointStatusCleanup(EndpointStatusReporter reporter, string hostname)
    {
        _reporter = reporter;
        _hostname = hostname;
    }

    public void OnUpdate(DatastoreUpdate update)
    {
        if (update is WorkloadEndpointRemoved { Key: WorkloadEndpointKey key } && key.Hostname == _hostname)
        {
            _reporter.Remove(key);
        }
    }
}
