namespace Felix.Dataplane.Routes;

/// <summary>What <see cref="InterfaceConfigurator"/> sets up, and how often it re-checks and retries.</summary>
public sealed record InterfaceConfiguratorOptions
{
    /// <summary>Ipv6Support: IPv6 forwarding, proxy NDP and IPv6 neighbours for endpoints with IPv6 addresses.</summary>
    public bool Ipv6Support { get; init; } = true;

    /// <summary>
    /// Sets <c>route_localnet=1</c> on workload interfaces, which the kernel needs before it lets a
    /// packet from a non-loopback interface reach <c>127.0.0.0/8</c>. The driver turns it on when
    /// MetadataAddr is an IPv4 loopback address (the default <c>127.0.0.1</c>, where the metadata
    /// server listens and the to-host chain allows it): without it the allowance could never match.
    /// It is off otherwise, since it is what lets a workload address the host's loopback-only
    /// services at all (CVE-2020-8558).
    /// </summary>
    public bool RouteLocalnet { get; init; }

    /// <summary>RouteRefreshInterval: every interval the links are listed and every interface and global parameter is checked again; zero turns that off.</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// How many interfaces a refresh re-checks per apply. Re-checking one reads its parameters and
    /// re-sends its neighbour entries (~120 µs); at 10k interfaces a whole pass held its apply, and
    /// every change queued behind it, for 1.1–1.7 s. A refresh's pass is spread over applies
    /// instead; interfaces that are new, changed, recreated or down are always configured at once.
    /// </summary>
    public int MaxRechecksPerApply { get; init; } = 256;

    /// <summary>The wait after a failure to configure an interface (or the globals), doubled per further failure up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan InitialRetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(60);
}
