namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// Records every input the agent feeds to <c>iptables-restore</c>, <c>ip6tables-restore</c> (both
/// backends) and <c>ipset</c>. The agent runs those tools by name from its PATH
/// (<c>IptablesCommands</c>, <c>IpSets</c>), so a directory of wrapper scripts put first on its PATH
/// (<see cref="Environment"/>) sees each call: a wrapper copies its stdin to a file of its own
/// (no interleaving between calls that run at once) and then execs the real tool on that copy, with
/// the same arguments, so the agent sees the real tool's exit code and output. Disposing deletes
/// the wrappers and the copies.
/// </summary>
public sealed class RestoreCapture : IDisposable
{
    private static readonly string[] Tools =
        ["iptables-nft-restore", "ip6tables-nft-restore", "iptables-legacy-restore", "ip6tables-legacy-restore", "ipset"];

    private readonly string _root;
    private readonly string _wrappers;
    private readonly string _inputs;

    private RestoreCapture(string root)
    {
        _root = root;
        _wrappers = Path.Combine(root, "bin");
        _inputs = Path.Combine(root, "inputs");
        Directory.CreateDirectory(_wrappers);
        Directory.CreateDirectory(_inputs);
    }

    /// <summary>Writes a wrapper for each of the tools this machine has; fails when it has no iptables-restore at all.</summary>
    public static RestoreCapture Create()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("the wrappers are Linux shell scripts");
        }

        var capture = new RestoreCapture(Directory.CreateTempSubdirectory("felix-it-capture-").FullName);
        try
        {
            var wrapped = 0;
            foreach (var tool in Tools)
            {
                if (FindOnPath(tool) is not { } real)
                {
                    continue;
                }

                var script = Path.Combine(capture._wrappers, tool);
                File.WriteAllText(script, $"""
                    #!/bin/sh
                    # Test wrapper (RestoreCapture): keep a copy of the input, then run the real tool on it.
                    copy=$(mktemp '{capture._inputs}/{tool}.XXXXXXXX') || exit 70
                    cat > "$copy"
                    exec '{real}' "$@" < "$copy"

                    """);
                File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                wrapped++;
            }

            return wrapped > 1 ? capture : throw new InvalidOperationException("no iptables-restore or ipset on PATH to wrap");
        }
        catch
        {
            capture.Dispose();
            throw;
        }
    }

    /// <summary>The agent's PATH: the wrappers first, then the test process's own PATH.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["PATH"] = $"{_wrappers}:{System.Environment.GetEnvironmentVariable("PATH")}",
    };

    /// <summary>
    /// Every non-empty input recorded so far: the copy's file name (unique per call, so a test can
    /// tell earlier calls from later ones), the tool's name and the text it was given. Nothing is
    /// ever deleted while the agent may run: a wrapper still reads its copy after writing it.
    /// </summary>
    public IReadOnlyList<RecordedInput> Inputs() =>
    [
        .. Directory.EnumerateFiles(_inputs)
            .Select(file => new RecordedInput(Path.GetFileName(file), Path.GetFileName(file).Split('.')[0], File.ReadAllText(file)))
            .Where(input => input.Text.Length > 0),
    ];

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static string? FindOnPath(string tool) =>
        (System.Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, tool))
            .FirstOrDefault(File.Exists);
}

/// <summary>One call's input as <see cref="RestoreCapture"/> recorded it.</summary>
public sealed record RecordedInput(string File, string Tool, string Text);
