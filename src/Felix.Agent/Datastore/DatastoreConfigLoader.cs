using Felix.Agent.Datastore.Etcd;
using Felix.Agent.Model;

namespace Felix.Agent.Datastore;

/// <summary>
/// Reads the config keys once at start-up, before anything is built from the configuration. Without
/// it, every value set in etcd would look like a change once the sync delivers it, and the restart
/// that applies it would start without it again — a loop. Bounded: if etcd cannot be reached in
/// time the agent starts on local configuration and restarts when etcd's values arrive and differ.
/// </summary>
public static class DatastoreConfigLoader
{
    /// <returns>The config values, or null and why they could not be read.</returns>
    public static async Task<(DatastoreConfig? Config, string? Error)> TryLoadAsync(IEtcdStore store, string hostname, ModelOptions options,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var config = new DatastoreConfig();
        try
        {
            foreach (var prefix in new[] { "/calico/v1/config/", $"/calico/v1/host/{hostname}/config/" })
            {
                var page = await store.RangeAsync(prefix, EtcdKeys.PrefixEnd(prefix), 0, 10_000, limit.Token);
                foreach (var item in page.Items)
                {
                    if (KeyParser.Parse(item.Key) is KnownKey { Key: GlobalConfigKey or HostConfigKey } known
                        && ValueParser.Parse(known.Key, item.Value.Span, options) is ValidValue { Value: ConfigValue value })
                    {
                        config.Apply(new ConfigChanged(known.Key, value));
                    }
                }
            }
            return (config, null);
        }
        catch (DatastoreUnavailableException e)
        {
            return (null, e.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"no answer within {timeout.TotalSeconds:0} s");
        }
    }
}
