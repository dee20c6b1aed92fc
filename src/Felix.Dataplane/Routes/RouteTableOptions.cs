namespace Felix.Dataplane.Routes;

/// <summary>How a <see cref="RouteTable"/> marks its routes, retries, reads back and flushes conntrack.</summary>
public sealed record RouteTableOptions
{
    /// <summary>
    /// DeviceRouteProtocol: the <c>rtm_protocol</c> of every route the table writes. Every route of
    /// this protocol in the main table is the table's (read back, repaired, deleted when nothing
    /// wants it); no route of another protocol is ever deleted.
    /// </summary>
    public byte DeviceRouteProtocol { get; init; } = 80;

    /// <summary>RouteRefreshInterval; zero turns periodic read-back off (start and failures still read back).</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>Attempts of one apply (each after a fresh read-back) before it is reported failed.</summary>
    public int MaxAttempts { get; init; } = 10;

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Addresses whose conntrack entries one apply flushes. They share one listing of the table
    /// (~15 ms), then one delete per entry found, so the bound is on the deletes: a host drained
    /// of thousands of workloads with busy flows is spread over several applies instead of holding
    /// up every other route change. An address waiting for its flush is not routed anew until it
    /// is done.
    /// </summary>
    public int MaxConntrackFlushesPerApply { get; init; } = 1000;
}
