namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// Preconditions of the integration tests. They need root and real tools; when either is missing
/// the test must fail loudly with the fix in the message, never pass by doing nothing.
/// </summary>
public static class Require
{
    private static readonly string[] SystemDirectories =
        ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    /// <summary>Fails unless this process runs on Linux as root.</summary>
    public static void Root()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException(
                "Felix.IntegrationTests drive the Linux kernel (network namespaces, veths, iptables); run them on Linux.");
        }

        if (!Environment.IsPrivilegedProcess)
        {
            throw new InvalidOperationException(
                $"Felix.IntegrationTests need root (they create network namespaces and veth pairs), but run as "
                + $"'{Environment.UserName}'. Run them as root, e.g. "
                + "`sudo -E dotnet test tests/Felix.IntegrationTests/Felix.IntegrationTests.csproj`.");
        }
    }

    /// <summary>
    /// Returns the full path of an executable found on PATH or in the usual system directories
    /// (sbin is often missing from PATH under sudo), or fails naming the Debian package to install.
    /// </summary>
    public static string Executable(string name, string debianPackage)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        var candidates = path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(SystemDirectories);
        foreach (var directory in candidates)
        {
            var fullPath = Path.Combine(directory, name);
            if (File.Exists(fullPath))
            {
                return fullPath;
            }
        }

        throw new InvalidOperationException(
            $"The integration tests need `{name}`, which is not installed. Install it with "
            + $"`apt-get install -y {debianPackage}`.");
    }
}
