using System.Text.Json;
using System.Text.Json.Serialization;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// The sandbox a systemd unit's [Service] section puts its process in, applied without systemd (PID 1
/// here is not systemd): <see cref="FromUnitAsync"/> derives it by parsing the unit, so the tests follow
/// the unit as it changes, and <see cref="Launcher"/> is the command prefix that applies it and execs
/// the agent (<c>unshare</c>, then <c>Packaging/unit-sandbox.py</c>, python3-seccomp).
///
/// Emulated, as systemd 252 does it:
///   CapabilityBoundingSet (bounding set; inheritable and ambient empty; root's caps after execve),
///   NoNewPrivileges, SystemCallFilter and SystemCallErrorNumber (groups expanded with
///   <c>systemd-analyze syscall-filter</c>; @default added to an allow list; default action kill
///   unless an errno is set; loaded last), SystemCallArchitectures=native (libseccomp's default),
///   RestrictAddressFamilies (socket() refused with EAFNOSUPPORT), MemoryDenyWriteExecute,
///   RestrictNamespaces=yes, RestrictRealtime, LockPersonality (seccomp, as systemd's), the seccomp
///   halves of ProtectClock, ProtectKernelModules, ProtectKernelLogs, ProtectHostname and
///   PrivateDevices, the file system view of ProtectSystem, ReadWritePaths, ProtectKernelTunables,
///   ProtectKernelModules, ProtectKernelLogs, ProtectControlGroups, ProtectHome, PrivateTmp,
///   PrivateDevices (a tmpfs /dev with the pseudo devices) and ProtectProc (a proc with hidepid=),
///   PrivateMounts (a mount namespace), PrivateIPC and ProtectHostname (IPC and UTS namespaces),
///   UMask, LimitNOFILE.
/// Not emulated (<see cref="NotEmulated"/> says why for each): service management (Type, timeouts,
///   restarts, watchdog, environment file), DevicePolicy (a cgroup device filter; PrivateDevices' /dev
///   stands in), KeyringMode, RestrictSUIDSGID.
/// A [Service] directive in neither list fails <see cref="FromUnitAsync"/>: a new one must be
/// emulated or explained here before the tests pass again.
/// </summary>
public sealed class UnitSandbox : IDisposable
{
    private const string Service = "Service";

    /// <summary>Directives the sandbox does not reproduce, and why the test is still meaningful without them.</summary>
    public static readonly IReadOnlyDictionary<string, string> NotEmulated = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Type"] = "service management: readiness is checked on /readiness, which is what makes the agent send READY=1",
        ["NotifyAccess"] = "service management",
        ["ExecStart"] = "the published binary (FELIX_BINARY) runs instead of /usr/bin/felix, with --config-file /dev/null for a hermetic configuration",
        ["EnvironmentFile"] = "the test passes the agent's settings as environment variables directly",
        ["TimeoutStartSec"] = "service management",
        ["TimeoutStopSec"] = "service management",
        ["Restart"] = "service management",
        ["RestartSec"] = "service management",
        ["WatchdogSec"] = "service management",
        ["DevicePolicy"] = "a cgroup device filter; PrivateDevices' minimal /dev stands in for it",
        ["KeyringMode"] = "the agent uses no kernel keyring",
        ["RestrictSUIDSGID"] = "the agent creates no files, let alone set-uid ones",
    };

    private static readonly string[] ApiFileSystems = ["/dev", "/proc", "/sys"];

    private readonly string _directory = Directory.CreateTempSubdirectory("felix-unit-sandbox-").FullName;

    private UnitSandbox(SandboxSpec spec, IReadOnlyList<string> unshareFlags)
    {
        Spec = spec;
        UnshareFlags = unshareFlags;
    }

    /// <summary>What the launcher applies; tests may change it (<c>with</c>) for a negative control.</summary>
    public SandboxSpec Spec { get; set; }

    /// <summary>The namespaces besides the mount namespace (<c>--ipc</c>, <c>--uts</c>).</summary>
    public IReadOnlyList<string> UnshareFlags { get; }

    public static async Task<UnitSandbox> FromUnitAsync(SystemdUnit unit)
    {
        ArgumentNullException.ThrowIfNull(unit);
        var unknown = unit.Keys(Service).Where(key => !Emulated.Contains(key) && !NotEmulated.ContainsKey(key)).ToList();
        if (unknown.Count > 0)
        {
            throw new NotSupportedException($"UnitSandbox neither emulates nor explains [Service] {string.Join(", ", unknown)}: extend it");
        }

        var readOnly = new List<ReadOnlyPath>();
        var inaccessible = new List<string>();
        var epermSyscalls = new List<string>();
        var groups = await SyscallGroupsAsync();
        switch (unit.Value(Service, "ProtectSystem"))
        {
            case null or "no": break;
            case "strict": readOnly.Add(new("/", ApiFileSystems)); break;
            case "full": readOnly.AddRange([new("/usr", []), new("/boot", []), new("/efi", []), new("/etc", [])]); break;
            case "yes" or "true": readOnly.AddRange([new("/usr", []), new("/boot", []), new("/efi", [])]); break;
            case var other: throw new NotSupportedException($"ProtectSystem={other}");
        }
        if (unit.IsTrue(Service, "ProtectKernelTunables"))
        {
            readOnly.AddRange([new("/proc/sys", []), new("/proc/sysrq-trigger", []), new("/proc/irq", []), new("/proc/bus", []), new("/sys", [])]);
            inaccessible.AddRange(["/proc/kallsyms", "/proc/kcore"]);
        }
        if (unit.IsTrue(Service, "ProtectControlGroups"))
        {
            readOnly.Add(new("/sys/fs/cgroup", []));
        }
        if (unit.IsTrue(Service, "ProtectKernelModules"))
        {
            inaccessible.AddRange(["/usr/lib/modules", "/lib/modules"]);
            epermSyscalls.AddRange(Expand(groups, "@module"));
        }
        if (unit.IsTrue(Service, "ProtectKernelLogs"))
        {
            inaccessible.AddRange(["/proc/kmsg", "/dev/kmsg"]);
            epermSyscalls.Add("syslog");
        }
        switch (unit.Value(Service, "ProtectHome"))
        {
            case null or "no": break;
            case "yes" or "true": inaccessible.AddRange(["/home", "/root", "/run/user"]); break;
            case "read-only": readOnly.AddRange([new("/home", []), new("/root", []), new("/run/user", [])]); break;
            case var other: throw new NotSupportedException($"ProtectHome={other}");
        }
        if (unit.IsTrue(Service, "ProtectClock"))
        {
            epermSyscalls.AddRange(Expand(groups, "@clock"));
        }
        if (unit.IsTrue(Service, "ProtectHostname"))
        {
            epermSyscalls.AddRange(["sethostname", "setdomainname"]);
        }
        var privateDevices = unit.IsTrue(Service, "PrivateDevices");
        if (privateDevices)
        {
            epermSyscalls.AddRange(Expand(groups, "@raw-io"));
        }

        var spec = new SandboxSpec
        {
            ProtectProc = unit.Value(Service, "ProtectProc") is { } proc and not "default" ? proc : null,
            PrivateDevices = privateDevices,
            ReadOnly = readOnly,
            Inaccessible = inaccessible,
            ReadWrite = unit.Words(Service, "ReadWritePaths"),
            PrivateTmp = unit.IsTrue(Service, "PrivateTmp") ? ["/tmp", "/var/tmp"] : [],
            CapabilityBoundingSet = unit.Values(Service, "CapabilityBoundingSet").Count == 0 ? null : unit.Words(Service, "CapabilityBoundingSet"),
            NoNewPrivileges = unit.IsTrue(Service, "NoNewPrivileges"),
            SyscallFilter = SyscallFilter(unit, groups),
            DenyWithEperm = [.. epermSyscalls.Distinct(StringComparer.Ordinal)],
            AddressFamilies = unit.Values(Service, "RestrictAddressFamilies").Count == 0 ? null : unit.Words(Service, "RestrictAddressFamilies"),
            MemoryDenyWriteExecute = unit.IsTrue(Service, "MemoryDenyWriteExecute"),
            RestrictNamespaces = RestrictNamespaces(unit),
            RestrictRealtime = unit.IsTrue(Service, "RestrictRealtime"),
            LockPersonality = unit.IsTrue(Service, "LockPersonality"),
            Umask = unit.Value(Service, "UMask"),
            LimitNofile = unit.Value(Service, "LimitNOFILE") is { } limit ? int.Parse(limit, System.Globalization.CultureInfo.InvariantCulture) : null,
        };
        if (unit.Value(Service, "SystemCallArchitectures") is { } architectures && architectures != "native")
        {
            throw new NotSupportedException($"SystemCallArchitectures={architectures}: only native is emulated (libseccomp's default)");
        }
        var unshare = new List<string>();
        if (unit.IsTrue(Service, "PrivateIPC"))
        {
            unshare.Add("--ipc");
        }
        if (unit.IsTrue(Service, "ProtectHostname"))
        {
            unshare.Add("--uts");
        }
        return new UnitSandbox(spec, unshare);
    }

    /// <summary>
    /// The command that applies the sandbox and execs what follows it; to run inside the agent's
    /// network namespace (<c>ip netns exec</c>), as the agent's own pid, since every step execs.
    /// </summary>
    public IReadOnlyList<string> Launcher()
    {
        var specFile = Path.Combine(_directory, $"spec-{Guid.NewGuid():N}.json");
        File.WriteAllText(specFile, JsonSerializer.Serialize(Spec, SpecJson));
        var script = Path.Combine(AppContext.BaseDirectory, "Packaging", "unit-sandbox.py");
        return [Require.Executable("unshare", "util-linux"), "--mount", "--propagation", "private", .. UnshareFlags,
            PythonPath, "-I", script, specFile, "--"];
    }

    /// <summary>Debian's python3, which python3-seccomp extends (a python3 earlier on PATH may not).</summary>
    public static string PythonPath
    {
        get
        {
            const string python = "/usr/bin/python3";
            if (!File.Exists(python) || !Directory.EnumerateFiles("/usr/lib/python3/dist-packages", "seccomp*.so").Any())
            {
                throw new InvalidOperationException("the unit sandbox needs Debian's python3 with seccomp: `apt-get install -y python3-seccomp`");
            }
            return python;
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static readonly JsonSerializerOptions SpecJson = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private static readonly HashSet<string> Emulated = new(StringComparer.Ordinal)
    {
        "CapabilityBoundingSet", "NoNewPrivileges", "ProtectSystem", "ReadWritePaths", "ProtectKernelTunables", "ProtectHome",
        "PrivateTmp", "PrivateDevices", "PrivateMounts", "PrivateIPC", "ProtectHostname", "ProtectProc", "ProtectKernelModules",
        "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock", "RestrictAddressFamilies", "RestrictNamespaces",
        "RestrictRealtime", "LockPersonality", "MemoryDenyWriteExecute", "SystemCallArchitectures", "SystemCallFilter",
        "SystemCallErrorNumber", "UMask", "LimitNOFILE",
    };

    private static SyscallAllowList? SyscallFilter(SystemdUnit unit, IReadOnlyDictionary<string, List<string>> groups)
    {
        var lines = unit.Values(Service, "SystemCallFilter");
        if (lines.Count == 0)
        {
            return null;
        }
        if (lines[0].StartsWith('~'))
        {
            throw new NotSupportedException("a SystemCallFilter deny list: UnitSandbox emulates allow lists only");
        }
        // The first line makes it an allow list, which systemd always extends by @default.
        var allowed = new HashSet<string>(Expand(groups, "@default"), StringComparer.Ordinal);
        foreach (var line in lines)
        {
            var deny = line.StartsWith('~');
            foreach (var entry in line.TrimStart('~').Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                foreach (var syscall in Expand(groups, entry))
                {
                    if (deny)
                    {
                        allowed.Remove(syscall);
                    }
                    else
                    {
                        allowed.Add(syscall);
                    }
                }
            }
        }
        int? errno = unit.Value(Service, "SystemCallErrorNumber") switch
        {
            null or "kill" => null,
            "EPERM" => 1,
            "EACCES" => 13,
            "ENOSYS" => 38,
            var other => throw new NotSupportedException($"SystemCallErrorNumber={other}"),
        };
        return new SyscallAllowList([.. allowed.Order(StringComparer.Ordinal)], errno);
    }

    private static bool RestrictNamespaces(SystemdUnit unit) => unit.Value(Service, "RestrictNamespaces") switch
    {
        null or "no" or "false" => false,
        "yes" or "true" => true,
        var other => throw new NotSupportedException($"RestrictNamespaces={other}: only yes is emulated"),
    };

    private static IEnumerable<string> Expand(IReadOnlyDictionary<string, List<string>> groups, string entry)
    {
        if (!entry.StartsWith('@'))
        {
            return [entry];
        }
        return groups.TryGetValue(entry, out var members)
            ? members.SelectMany(member => Expand(groups, member))
            : throw new InvalidOperationException($"systemd-analyze knows no system call group {entry}");
    }

    // `systemd-analyze syscall-filter`: a group's name at the start of a line, its members (calls
    // or nested groups) indented below it, comments after '#'.
    private static async Task<IReadOnlyDictionary<string, List<string>>> SyscallGroupsAsync()
    {
        var result = await CommandRunner.RunCheckedAsync(Require.Executable("systemd-analyze", "systemd"), ["syscall-filter"]);
        var groups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? current = null;
        foreach (var line in result.StandardOutput.Split('\n'))
        {
            var word = line.Trim();
            if (word.Length == 0 || word.StartsWith('#'))
            {
                continue;
            }
            if (!char.IsWhiteSpace(line[0]))
            {
                groups[word] = current = [];
            }
            else
            {
                current?.Add(word);
            }
        }
        return groups;
    }
}

/// <summary>A path made read-only with every mount below it, except those under <paramref name="Exempt"/>.</summary>
public sealed record ReadOnlyPath(string Path, IReadOnlyList<string> Exempt);

/// <summary>The allowed system calls; any other fails with <paramref name="Errno"/>, or kills the process when null.</summary>
public sealed record SyscallAllowList(IReadOnlyList<string> Allow, int? Errno);

/// <summary>What <c>unit-sandbox.py</c> applies; the JSON names are its keys.</summary>
public sealed record SandboxSpec
{
    public string? ProtectProc { get; init; }
    public bool PrivateDevices { get; init; }
    public IReadOnlyList<ReadOnlyPath> ReadOnly { get; init; } = [];
    public IReadOnlyList<string> Inaccessible { get; init; } = [];
    public IReadOnlyList<string> ReadWrite { get; init; } = [];
    public IReadOnlyList<string> PrivateTmp { get; init; } = [];
    /// <summary>Capability names as the unit spells them; null keeps every capability.</summary>
    public IReadOnlyList<string>? CapabilityBoundingSet { get; init; }
    public bool NoNewPrivileges { get; init; }
    [JsonPropertyName("syscallFilter")]
    public SyscallAllowList? SyscallFilter { get; init; }
    public IReadOnlyList<string> DenyWithEperm { get; init; } = [];
    /// <summary>AF_* names socket() may use; null for any.</summary>
    public IReadOnlyList<string>? AddressFamilies { get; init; }
    public bool MemoryDenyWriteExecute { get; init; }
    public bool RestrictNamespaces { get; init; }
    public bool RestrictRealtime { get; init; }
    public bool LockPersonality { get; init; }
    public string? Umask { get; init; }
    public int? LimitNofile { get; init; }
}
