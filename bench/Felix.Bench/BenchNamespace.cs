using System.Security.Cryptography;
using System.Text;
using Felix.Agent.Policy;
using Felix.Dataplane;
using Felix.Dataplane.Exec;
using Felix.Dataplane.Iptables;

namespace Felix.Bench;

/// <summary>
/// A network namespace the bench creates for one measurement and deletes afterwards, and the
/// agent's command seam pointed into it: every program runs as <c>ip netns exec NS PROGRAM…</c>
/// through the agent's own <see cref="ProcessCommandRunner"/>, the floor's restores as well as the
/// table's, so both pay the same process plumbing. A bench started inside the namespace
/// (<see cref="RunInsideAsync"/>) starts programs directly instead. Nothing runs in the root namespace.
/// </summary>
internal sealed class BenchNamespace : ICommandRunner, IAsyncDisposable
{
    /// <summary>Set for a bench process started inside a bench namespace (see <see cref="RunInsideAsync"/>): its name.</summary>
    private const string InsideVariable = "FELIX_BENCH_NETNS";

    /// <summary>
    /// Generous: the kernel tears a deleted namespace down in the background, and while it is
    /// destroying the 20k veths of a 10k-endpoint run (over a minute on two loaded cores), a new
    /// <c>ip netns add</c> waits for it.
    /// </summary>
    private static readonly TimeSpan SetupTimeout = TimeSpan.FromMinutes(5);

    private readonly ProcessCommandRunner _inner = new(TimeProvider.System);

    /// <summary>This process runs inside the namespace: programs start directly, as the agent's do on a host.</summary>
    private readonly bool _inside;

    private BenchNamespace(string name, bool inside = false)
    {
        Name = name;
        _inside = inside;
    }

    /// <summary>Whether this bench process was started inside a bench namespace.</summary>
    public static bool IsInside => Environment.GetEnvironmentVariable(InsideVariable) is { Length: > 0 };

    /// <summary>
    /// Runs this bench again with <paramref name="arguments"/> inside a fresh namespace, and returns its exit
    /// code. A figure in milliseconds should not carry the few milliseconds <c>ip netns exec</c> adds
    /// to every program start, which the agent does not pay on a host.
    /// </summary>
    public static async Task<int> RunInsideAsync(params string[] arguments)
    {
        var netns = await CreateAsync();
        await using (netns.ConfigureAwait(false))
        {
            var self = Environment.ProcessPath ?? throw new InvalidOperationException("the bench cannot find its own executable");
            var start = new System.Diagnostics.ProcessStartInfo("ip") { UseShellExecute = false };
            foreach (var argument in (string[])["netns", "exec", netns.Name, self, .. SelfArguments(self, arguments)])
            {
                start.ArgumentList.Add(argument);
            }
            start.Environment[InsideVariable] = netns.Name;
            using var child = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("ip netns exec did not start");
            await child.WaitForExitAsync();
            return child.ExitCode;
        }
    }

    /// <summary>Under <c>dotnet Felix.Bench.dll</c> the host is the executable and the assembly its first argument.</summary>
    private static IEnumerable<string> SelfArguments(string self, string[] arguments) =>
        Path.GetFileNameWithoutExtension(self) == "dotnet" ? arguments.Prepend(typeof(BenchNamespace).Assembly.Location) : arguments;

    public string Name { get; }

    /// <summary>The input of the last restore run through this namespace: what the table wrote.</summary>
    public string? LastRestoreInput { get; private set; }

    /// <summary>
    /// When set, every restore input from then on is added to it, in order: one apply may write a
    /// table in more than one restore. Off unless asked for, so benches that weigh memory hold only the last.
    /// </summary>
    public List<string>? RestoreLog { get; set; }

    /// <summary>Milliseconds spent in restore processes so far, from start to exit as the runner saw them.</summary>
    public double RestoreMillis { get; private set; }

    /// <summary>Milliseconds spent in save processes so far.</summary>
    public double SaveMillis { get; private set; }

    public static async Task<BenchNamespace> CreateAsync()
    {
        if (Environment.GetEnvironmentVariable(InsideVariable) is { Length: > 0 } inside)
        {
            return new BenchNamespace(inside, inside: true);
        }
        var netns = new BenchNamespace("felixbench-" + RandomNumberGenerator.GetHexString(6, lowercase: true));
        var result = await netns._inner.RunAsync(new Command("ip", ["netns", "add", netns.Name], null, SetupTimeout), CancellationToken.None);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"ip netns add {netns.Name}: {result.StandardError.Trim()}");
        }
        // Loopback up: the start-up scenario's agent serves its health endpoint there.
        result = await netns._inner.RunAsync(new Command("ip", ["-n", netns.Name, "link", "set", "lo", "up"], null, SetupTimeout), CancellationToken.None);
        return result.Succeeded ? netns : throw new InvalidOperationException($"ip -n {netns.Name} link set lo up: {result.StandardError.Trim()}");
    }

    public async Task<CommandResult> RunAsync(Command command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var restore = command.FileName.EndsWith("-restore", StringComparison.Ordinal) || IsIpset(command, "restore");
        if (restore)
        {
            LastRestoreInput = command.StandardInput?.ToString();
            RestoreLog?.Add(command.StandardInput?.ToString() ?? string.Empty);
        }
        var result = await _inner.RunAsync(
            _inside ? command : command with { FileName = "ip", Arguments = ["netns", "exec", Name, command.FileName, .. command.Arguments] },
            cancellationToken);
        if (restore)
        {
            RestoreMillis += result.Duration.TotalMilliseconds;
        }
        else if (command.FileName.EndsWith("-save", StringComparison.Ordinal) || IsIpset(command, "save"))
        {
            SaveMillis += result.Duration.TotalMilliseconds;
        }
        return result;
    }

    /// <summary>ipset restores and saves through a subcommand (<c>ipset restore</c>, <c>ipset -exist restore</c>).</summary>
    private static bool IsIpset(Command command, string subcommand) =>
        command.FileName == "ipset" && command.Arguments.Contains(subcommand, StringComparer.Ordinal);

    /// <summary>Runs a program in the namespace and throws with its stderr unless it exits 0.</summary>
    public async Task<CommandResult> RunCheckedAsync(string program, IReadOnlyList<string> arguments, string? input = null)
    {
        var result = await RunAsync(new Command(program, arguments, input, SetupTimeout), CancellationToken.None);
        return result.Succeeded
            ? result
            : throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} in {Name}: {result.StandardError.Trim()}");
    }

    /// <summary>Creates the sets the chains match on, as the set manager would before the first apply; empty is enough to load.</summary>
    public Task CreateSetsAsync(IEnumerable<Chain> chains, IpVersion version)
    {
        var family = version == IpVersion.V4 ? "inet" : "inet6";
        var pools = new[] { PolicyNames.AllPoolsSet(version), PolicyNames.MasqueradePoolsSet(version) };
        var input = new StringBuilder();
        foreach (var set in chains.SelectMany(c => c.IpSets).Distinct(StringComparer.Ordinal))
        {
            input.Append($"create {set} {(pools.Contains(set) ? "hash:net" : "hash:ip")} family {family}\n");
        }
        return RunCheckedAsync("ipset", ["-exist", "restore"], input.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        if (!_inside)
        {
            await _inner.RunAsync(new Command("ip", ["netns", "del", Name], null, SetupTimeout), CancellationToken.None);
        }
    }
}
