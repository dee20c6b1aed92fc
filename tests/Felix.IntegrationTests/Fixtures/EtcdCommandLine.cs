using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// Builds the etcd 3.4 command line and environment for a single loopback member. Kept apart from
/// <see cref="EtcdServer"/> because the quirks of the Debian binary (ETCD_* variables, unsupported
/// architectures, logger flags) are about etcd, not about the server's lifecycle.
/// </summary>
public static class EtcdCommandLine
{
    /// <summary>The start info for one member; every flag used exists in etcd 3.4 (<c>etcd --help</c>).</summary>
    public static ProcessStartInfo Create(
        string etcdPath,
        string name,
        string dataDirectory,
        string clientUrl,
        string peerUrl,
        string clusterToken,
        EtcdTls? tls = null)
    {
        var startInfo = new ProcessStartInfo(etcdPath)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };

        // etcd reads ETCD_* variables as flags and refuses to start when one shadows a flag.
        var inherited = startInfo.Environment.Keys.Where(k => k.StartsWith("ETCD_", StringComparison.Ordinal)).ToList();
        foreach (var key in inherited)
        {
            startInfo.Environment.Remove(key);
        }

        // etcd 3.4 refuses to run on architectures other than amd64/ppc64le unless this names the arch.
        if (RuntimeInformation.ProcessArchitecture is not Architecture.X64 and var architecture)
        {
            startInfo.Environment["ETCD_UNSUPPORTED_ARCH"] = GoArchitecture(architecture);
        }

        string[] arguments =
        [
            "--name", name,
            "--data-dir", dataDirectory,
            "--listen-client-urls", clientUrl,
            "--advertise-client-urls", clientUrl,
            "--listen-peer-urls", peerUrl,
            "--initial-advertise-peer-urls", peerUrl,
            "--initial-cluster", $"{name}={peerUrl}",
            "--initial-cluster-state", "new",
            "--initial-cluster-token", clusterToken,
            "--logger", "zap",
            "--log-outputs", "stderr",
        ];
        string[] tlsArguments = tls is null ? [] :
        [
            "--cert-file", tls.ServerCertFile,
            "--key-file", tls.ServerKeyFile,
            "--client-cert-auth",
            "--trusted-ca-file", tls.CaFile,
        ];
        foreach (var argument in arguments.Concat(tlsArguments))
        {
            startInfo.ArgumentList.Add(argument);
        }

        return startInfo;
    }

    /// <summary>
    /// Makes <paramref name="startInfo"/> run etcd inside the named namespace through
    /// <c>ip netns exec</c>, which execs etcd in place: the process started is etcd itself, so its
    /// pid, signals and exit code are etcd's.
    /// </summary>
    public static void RunInNamespace(ProcessStartInfo startInfo, string ipPath, string netns)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        string[] etcdCommand = [startInfo.FileName, .. startInfo.ArgumentList];
        startInfo.FileName = ipPath;
        startInfo.ArgumentList.Clear();
        foreach (var argument in new[] { "netns", "exec", netns }.Concat(etcdCommand))
        {
            startInfo.ArgumentList.Add(argument);
        }
    }

    private static string GoArchitecture(Architecture architecture) => architecture switch
    {
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm",
        Architecture.X86 => "386",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64le",
        Architecture.LoongArch64 => "loong64",
        Architecture.RiscV64 => "riscv64",
        _ => architecture.ToString().ToLowerInvariant(),
    };
}
