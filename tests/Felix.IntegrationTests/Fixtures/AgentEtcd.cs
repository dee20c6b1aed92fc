using Felix.Agent.Datastore.Etcd;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>The agent's own etcd store, connected in plaintext to a test etcd (the caller disposes it).</summary>
public sealed class AgentEtcd : IDisposable
{
    private readonly EtcdConnection _connection;

    public AgentEtcd(string clientUrl)
    {
        _connection = new EtcdConnection(new EtcdConnectionOptions([new Uri(clientUrl)], null, null, null));
        Store = new GrpcEtcdStore(_connection);
    }

    public GrpcEtcdStore Store { get; }

    public void Dispose() => _connection.Dispose();
}
