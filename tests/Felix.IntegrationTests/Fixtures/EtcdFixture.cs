namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// xunit wrapper around <see cref="EtcdServer"/>: one etcd per test class (IClassFixture) or per
/// collection (see <see cref="EtcdCollectionDefinition"/>), started before the first test and
/// killed, with its data dir deleted, after the last one.
/// </summary>
public sealed class EtcdFixture : IAsyncLifetime
{
    private EtcdServer? _server;

    /// <summary>The running server; only valid after xunit has initialised the fixture.</summary>
    public EtcdServer Server =>
        _server ?? throw new InvalidOperationException("EtcdFixture.Server used before xunit initialised the fixture.");

    public async Task InitializeAsync() => _server = await EtcdServer.StartNewAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// Lets test classes share one etcd by putting <c>[Collection(EtcdCollectionDefinition.Name)]</c>
/// on them; xunit then runs those classes one after another against the same server.
/// </summary>
[CollectionDefinition(Name)]
public sealed class EtcdCollectionDefinition : ICollectionFixture<EtcdFixture>
{
    public const string Name = "etcd";
}
