using System.Runtime.CompilerServices;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace Felix.Agent.Datastore.Etcd;

/// <summary>
/// <see cref="IEtcdStore"/> over etcd's v3 gRPC API, using the service clients that dotnet-etcd
/// generates but not its <c>EtcdClient</c>: that client's watch manager keeps a compacted watch and
/// may revive it later, replays on reconnect on its own schedule, exposes no connection state and
/// writes diagnostics to stdout. Driving the watch stream here makes compaction, failure and
/// restart explicit events the syncer decides about. Unary calls carry a deadline, so a silent
/// etcd costs a bounded wait, never a hang.
/// </summary>
public sealed class GrpcEtcdStore : IEtcdStore
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);
    private readonly EtcdConnection _connection;

    public GrpcEtcdStore(EtcdConnection connection)
    {
        _connection = connection;
    }

    public Task<RangePage> RangeAsync(string fromKey, string rangeEnd, long revision, int limit, CancellationToken cancellationToken) =>
        CallAsync(async (channel, options) =>
        {
            var response = await new KV.KVClient(channel).RangeAsync(new RangeRequest
            {
                Key = ByteString.CopyFromUtf8(fromKey),
                RangeEnd = ByteString.CopyFromUtf8(rangeEnd),
                Revision = revision,
                Limit = limit,
            }, options);
            var items = response.Kvs.Select(kv => new KeyValue(kv.Key.ToStringUtf8(), kv.Value.Memory, kv.ModRevision)).ToList();
            return new RangePage(items, response.Header.Revision, response.More);
        }, cancellationToken);

    public Task PutAsync(string key, string value, long leaseId, CancellationToken cancellationToken) =>
        CallAsync(async (channel, options) => await new KV.KVClient(channel).PutAsync(new PutRequest
        {
            Key = ByteString.CopyFromUtf8(key),
            Value = ByteString.CopyFromUtf8(value),
            Lease = leaseId,
        }, options), cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        CallAsync(async (channel, options) => await new KV.KVClient(channel).DeleteRangeAsync(
            new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) }, options), cancellationToken);

    public Task<long> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken) =>
        CallAsync(async (channel, options) =>
        {
            var response = await new Lease.LeaseClient(channel).LeaseGrantAsync(
                new LeaseGrantRequest { TTL = (long)Math.Ceiling(ttl.TotalSeconds) }, options);
            return response.ID;
        }, cancellationToken);

    public Task<bool> KeepLeaseAliveAsync(long leaseId, CancellationToken cancellationToken) =>
        CallAsync(async (channel, options) =>
        {
            using var call = new Lease.LeaseClient(channel).LeaseKeepAlive(options);
            await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = leaseId }, options.CancellationToken);
            await call.RequestStream.CompleteAsync();
            return await call.ResponseStream.MoveNext(options.CancellationToken) && call.ResponseStream.Current.TTL > 0;
        }, cancellationToken);

    public async IAsyncEnumerable<WatchBatch> WatchAsync(string prefix, long startRevision,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = _connection.Current;
        using var call = new Watch.WatchClient(channel).Watch(cancellationToken: cancellationToken);
        await Guard(channel, () => call.RequestStream.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest
            {
                Key = ByteString.CopyFromUtf8(prefix),
                RangeEnd = ByteString.CopyFromUtf8(EtcdKeys.PrefixEnd(prefix)),
                StartRevision = startRevision,
                // Progress notifications keep an idle stream's revision moving and prove it alive.
                ProgressNotify = true,
            },
        }, cancellationToken), cancellationToken);

        while (true)
        {
            var next = await Guard(channel, () => call.ResponseStream.MoveNext(cancellationToken), cancellationToken);
            if (!next)
            {
                throw new DatastoreUnavailableException($"etcd {channel.Target} ended the watch stream");
            }
            var response = call.ResponseStream.Current;
            if (response.CompactRevision > 0)
            {
                throw new WatchCompactedException(response.CompactRevision);
            }
            if (response.Canceled)
            {
                throw new DatastoreUnavailableException($"etcd {channel.Target} cancelled the watch: {response.CancelReason}");
            }
            if (response.Created && response.Events.Count == 0)
            {
                continue;
            }
            var events = response.Events.Select(e => new WatchEvent(
                e.Kv.Key.ToStringUtf8(),
                // Explicitly nullable: a bare null would convert to an empty memory through byte[].
                e.Type == Mvccpb.Event.Types.EventType.Put ? e.Kv.Value.Memory : (ReadOnlyMemory<byte>?)null,
                e.Kv.ModRevision)).ToList();
            yield return new WatchBatch(events, response.Header.Revision);
        }
    }

    private async Task<T> CallAsync<T>(Func<Grpc.Net.Client.GrpcChannel, CallOptions, Task<T>> call, CancellationToken cancellationToken)
    {
        var channel = _connection.Current;
        var options = new CallOptions(deadline: DateTime.UtcNow + CallTimeout, cancellationToken: cancellationToken);
        return await Guard(channel, () => call(channel, options), cancellationToken);
    }

    private async Task<T> Guard<T>(Grpc.Net.Client.GrpcChannel channel, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call();
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            // Our own cancellation (shutdown), which gRPC reports as a status: not an etcd failure.
            throw new OperationCanceledException("etcd call cancelled", e, cancellationToken);
        }
        catch (RpcException e)
        {
            _connection.Failover(channel);
            var reason = IsTlsFailure(e) && _connection.LastTlsRejection is { } tls ? $"TLS: {tls}"
                : _connection.FailureHint is { } hint && e.StatusCode == StatusCode.Unavailable ? $"{Describe(e)} ({hint})"
                : Describe(e);
            throw new DatastoreUnavailableException($"etcd {channel.Target}: {reason}", e);
        }
        catch (Exception e) when (e is IOException or HttpRequestException or ObjectDisposedException)
        {
            // A connection torn down mid-stream can surface from the HTTP/2 layer unwrapped.
            _connection.Failover(channel);
            throw new DatastoreUnavailableException(TransportFailure(channel.Target, e, _connection.FailureHint), e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // Grpc.Net.Client sometimes reports an expired deadline as a bare cancellation.
            _connection.Failover(channel);
            throw new DatastoreUnavailableException($"etcd {channel.Target}: no answer within {CallTimeout.TotalSeconds:0} s", e);
        }
    }

    private async Task Guard(Grpc.Net.Client.GrpcChannel channel, Func<Task> call, CancellationToken cancellationToken) =>
        await Guard(channel, async () =>
        {
            await call();
            return true;
        }, cancellationToken);

    /// <summary>
    /// An HTTP/2 or socket failure outside a gRPC status. A server that requires client certificates
    /// and drops a client without one surfaces this way as often as through a status (which one
    /// depends on timing), so it gets the same hint, or the operator's reason would come and go.
    /// </summary>
    internal static string TransportFailure(string target, Exception e, string? hint) =>
        hint is null ? $"etcd {target}: {e.GetType().Name}: {e.Message}" : $"etcd {target}: {e.GetType().Name}: {e.Message} ({hint})";

    private static bool IsTlsFailure(RpcException e)
    {
        for (Exception? inner = e.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            if (inner is System.Security.Authentication.AuthenticationException)
            {
                return true;
            }
        }
        return false;
    }

    // The status detail of a TLS or connection failure is generic; the innermost exception says why.
    private static string Describe(RpcException e)
    {
        Exception? inner = e.Status.DebugException;
        while (inner?.InnerException is not null)
        {
            inner = inner.InnerException;
        }
        return inner is null || inner.Message == e.Status.Detail
            ? $"{e.StatusCode}: {e.Status.Detail}"
            : $"{e.StatusCode}: {e.Status.Detail} ({inner.Message})";
    }
}
