using dotnet_etcd;

namespace Felix.IntegrationTests.Fixtures.EndToEnd;

/// <summary>
/// Writes an <see cref="ArticleModel"/> (or any key/value pairs) to etcd, one put per key in the
/// given order, each bounded by a deadline, so a test can follow every step it takes on the
/// datastore with the matching change to its expected matrix.
/// </summary>
public static class ArticleWriter
{
    private static readonly TimeSpan PutTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Writes <see cref="ArticleModel.Snapshot"/>: the whole model, <c>Ready</c> last.</summary>
    public static Task WriteAsync(EtcdClient client, ArticleModel model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        return PutAllAsync(client, model.Snapshot(), cancellationToken);
    }

    /// <summary><c>calicoctl profile &lt;profile&gt; tag add &lt;tag&gt;</c>: updates the model and writes the profile's tags.</summary>
    public static Task AddTagAsync(EtcdClient client, ArticleModel model, string profile, string tag, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        return PutAllAsync(client, [model.AddTag(profile, tag)], cancellationToken);
    }

    /// <summary><c>calicoctl profile &lt;profile&gt; tag remove &lt;tag&gt;</c>: updates the model and writes the profile's tags.</summary>
    public static Task RemoveTagAsync(EtcdClient client, ArticleModel model, string profile, string tag, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        return PutAllAsync(client, [model.RemoveTag(profile, tag)], cancellationToken);
    }

    public static async Task PutAllAsync(EtcdClient client, IEnumerable<KeyValuePair<string, string>> pairs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(pairs);
        foreach (var (key, value) in pairs)
        {
            await client.PutAsync(key, value, deadline: DateTime.UtcNow + PutTimeout, cancellationToken: cancellationToken);
        }
    }
}
