namespace Felix.Dataplane.Iptables;

/// <summary>How an <see cref="IptablesTable"/> retries and how often it reads back.</summary>
public sealed record IptablesTableOptions
{
    /// <summary>Attempts of one apply (each after a fresh read-back) before it is reported failed.</summary>
    public int MaxAttempts { get; init; } = 10;

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>IptablesRefreshInterval; zero turns periodic read-back off (start and failures still read back).</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>First read-back after a write; it doubles after each until it reaches the refresh interval.</summary>
    public TimeSpan PostWriteReadBack { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A post-write read-back waits at least this many times what the last read-back (or write)
    /// took, so read-backs, which hold up the changes behind them, take at most about 1/this of the time.
    /// </summary>
    public double ReadBackCostFactor { get; init; } = 10;
}
