namespace Felix.Agent.Datastore.Etcd;

/// <summary>One key and its value as etcd holds it.</summary>
public sealed record KeyValue(string Key, ReadOnlyMemory<byte> Value, long ModRevision);

/// <summary>One page of a range read, all at <see cref="Revision"/>.</summary>
public sealed record RangePage(IReadOnlyList<KeyValue> Items, long Revision, bool More);

/// <summary>A put (<see cref="Value"/> set) or a delete (<see cref="Value"/> null) seen by a watch.</summary>
public sealed record WatchEvent(string Key, ReadOnlyMemory<byte>? Value, long ModRevision);

/// <summary>The events of one watch response; <see cref="Revision"/> is the store's revision then.</summary>
public sealed record WatchBatch(IReadOnlyList<WatchEvent> Events, long Revision);

/// <summary>
/// The agent's seam to etcd: the handful of operations it needs, in etcd's own terms. The real one
/// is <see cref="GrpcEtcdStore"/>; unit tests use a fake. Every failure to reach etcd surfaces as
/// <see cref="DatastoreUnavailableException"/>, whatever the transport said.
/// </summary>
public interface IEtcdStore
{
    /// <summary>Keys in [<paramref name="fromKey"/>, <paramref name="rangeEnd"/>) in key order.</summary>
    /// <param name="revision">0 for the latest revision; otherwise read as of this revision.</param>
    Task<RangePage> RangeAsync(string fromKey, string rangeEnd, long revision, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Changes under <paramref name="prefix"/> from <paramref name="startRevision"/> on, in revision
    /// order, until cancelled or the watch fails.
    /// </summary>
    /// <exception cref="WatchCompactedException">The start revision was compacted away.</exception>
    IAsyncEnumerable<WatchBatch> WatchAsync(string prefix, long startRevision, CancellationToken cancellationToken);

    /// <param name="leaseId">0 for no lease.</param>
    Task PutAsync(string key, string value, long leaseId, CancellationToken cancellationToken);

    Task DeleteAsync(string key, CancellationToken cancellationToken);

    Task<long> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Refreshes a lease once; false when etcd no longer knows it (expired or revoked).</summary>
    Task<bool> KeepLeaseAliveAsync(long leaseId, CancellationToken cancellationToken);
}

/// <summary>etcd could not be reached or answered with an error; the message says which.</summary>
public sealed class DatastoreUnavailableException : Exception
{
    public DatastoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public DatastoreUnavailableException(string message)
        : base(message)
    {
    }

    public DatastoreUnavailableException()
    {
    }
}

/// <summary>The watch asked for history etcd has compacted: only a fresh snapshot can catch up.</summary>
public sealed class WatchCompactedException : Exception
{
    public WatchCompactedException(long compactRevision)
        : base($"etcd has compacted its history up to revision {compactRevision}")
    {
        CompactRevision = compactRevision;
    }

    public WatchCompactedException()
    {
    }

    public WatchCompactedException(string message)
        : base(message)
    {
    }

    public WatchCompactedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public long CompactRevision { get; }
}

/// <summary>Key-range helpers in etcd's conventions.</summary>
public static class EtcdKeys
{
    /// <summary>The end of the range holding every key that starts with <paramref name="prefix"/>.</summary>
    public static string PrefixEnd(string prefix)
    {
        var last = prefix[^1];
        return prefix[..^1] + (char)(last + 1);
    }
}
