namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// The felix package installed on this machine by a test, with apt-get as an operator would, and
/// purged on dispose, whatever the test did in between. It refuses to start when dpkg already knows
/// a felix package (installed, or removed with its configuration kept): that one is somebody's, and
/// purging it would delete their /etc/felix.
/// </summary>
public sealed class PackageInstallation : IAsyncDisposable
{
    private static readonly TimeSpan AptTimeout = TimeSpan.FromMinutes(2);

    private bool _disposed;

    private PackageInstallation()
    {
    }

    /// <summary>Installs <paramref name="package"/> on a machine that has no felix package.</summary>
    public static async Task<PackageInstallation> InstallAsync(DebianPackage package)
    {
        if (await StatusAsync() is { } status)
        {
            throw new InvalidOperationException(
                $"dpkg already knows a felix package (status '{status}') that this test did not install. The package "
                + "tests install and purge felix, which would delete that one and its /etc/felix, so they do not run: "
                + "purge it first (apt-get purge felix) or run them on another machine.");
        }
        var installation = new PackageInstallation();
        try
        {
            await installation.InstallOverAsync(package);
        }
        catch
        {
            await installation.DisposeAsync();
            throw;
        }
        return installation;
    }

    /// <summary>
    /// dpkg's abbreviated status of felix (<c>ii</c> installed, <c>rc</c> removed with its
    /// configuration), or <c>null</c> when dpkg has no trace of it.
    /// </summary>
    public static async Task<string?> StatusAsync()
    {
        var query = await CommandRunner.RunAsync("dpkg-query", ["-W", "-f=${db:Status-Abbrev}", "felix"]);
        var status = query.StandardOutput.Trim();
        // dpkg-query fails for a name it never saw; after a purge it may still list it as not installed.
        return query.Succeeded && status.Length >= 2 && status[1] != 'n' ? status : null;
    }

    /// <summary>
    /// Installs (or upgrades to) <paramref name="package"/>. Standard input is closed, so a dpkg
    /// question (a conffile prompt) fails the install rather than being answered for the operator.
    /// </summary>
    public Task<CommandResult> InstallOverAsync(DebianPackage package) => AptAsync("install", "-y", package.Path);

    public Task<CommandResult> RemoveAsync() => AptAsync("remove", "-y", "felix");

    public Task<CommandResult> PurgeAsync() => AptAsync("purge", "-y", "felix");

    // Instance methods, and refused after dispose: only the test that installed felix touches it.
    private Task<CommandResult> AptAsync(params string[] arguments)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return CommandRunner.RunCheckedAsync("env", ["DEBIAN_FRONTEND=noninteractive", "apt-get", "-q", .. arguments], AptTimeout);
    }

    /// <summary>A field of the installed package (<c>Version</c>, <c>Conffiles</c>, …).</summary>
    public static async Task<string> FieldAsync(string name) =>
        (await CommandRunner.RunCheckedAsync("dpkg-query", ["-W", $"-f=${{{name}}}", "felix"])).StandardOutput;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        if (await StatusAsync() is not null)
        {
            await PurgeAsync();
        }
        _disposed = true;
    }
}
