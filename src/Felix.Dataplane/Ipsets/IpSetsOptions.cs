namespace Felix.Dataplane.Ipsets;

/// <summary>How <see cref="IpSets"/> retries, reads back and paces destroys.</summary>
public sealed record IpSetsOptions
{
    /// <summary>Attempts of one apply (each after a fresh read-back) before it is reported failed.</summary>
    public int MaxAttempts { get; init; } = 10;

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>IpsetsRefreshInterval; zero turns periodic read-back off (start and failures still read back).</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Destroys per deletion apply: the kernel serialises them, and a burst of thousands (a profile
    /// with many tags deleted) should not hold up the next apply's changes. The rest wait for the
    /// next apply.
    /// </summary>
    public int MaxDestroysPerApply { get; init; } = 100;

    /// <summary>How long a set the kernel would not destroy because something still uses it is left before trying again.</summary>
    public TimeSpan InUseRetry { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one ipset run may take before it is killed.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(60);
}
