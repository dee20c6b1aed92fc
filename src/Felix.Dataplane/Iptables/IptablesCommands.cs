namespace Felix.Dataplane.Iptables;

/// <summary>The two implementations of the iptables tools a host may use.</summary>
public enum IptablesBackendKind
{
    Legacy,
    Nft,
}

/// <summary>
/// The programs of one backend and IP family, and the arguments every call gets: restores wait for
/// the xtables lock (<c>--wait</c>) rather than fail when another program holds it.
/// </summary>
public sealed record IptablesCommands(IpVersion Version, IptablesBackendKind Backend, int LockTimeoutSeconds)
{
    public string Restore => $"{Family}-{BackendName}-restore";

    public string Save => $"{Family}-{BackendName}-save";

    public string BackendName => Backend == IptablesBackendKind.Nft ? "nft" : "legacy";

    /// <summary>
    /// How long a restore may run: the lock wait plus time for a large batch on nft (seconds at
    /// 70k lines), so a hung tool is killed instead of stalling the dataplane for good.
    /// </summary>
    public TimeSpan RestoreTimeout => TimeSpan.FromSeconds(LockTimeoutSeconds + 60);

    public static TimeSpan SaveTimeout => TimeSpan.FromSeconds(60);

    public IReadOnlyList<string> RestoreArguments =>
        ["--noflush", "--wait", LockTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)];

    private string Family => Version == IpVersion.V4 ? "iptables" : "ip6tables";
}
