using System.Text.RegularExpressions;
using Felix.Dataplane.Exec;
using Felix.Dataplane.Tests.Fakes;

namespace Felix.Agent.Tests.Dataplane;

/// <summary>One program run, in the order the host saw them: the program's file name and the first line of its input (or its arguments).</summary>
internal sealed record HostRun(string Program, string FirstLine, string Input, bool Succeeded);

/// <summary>
/// The programs of one fake host behind one <see cref="ICommandRunner"/>, as the dataplane's single
/// runner sees them: <c>ipset</c> goes to <see cref="FakeIpset"/>, <c>ip[6]tables-*</c> to
/// <see cref="FakeIptables"/>. Every run is
/// recorded in order, so a test can say which write came before which.
/// <para>
/// It also plays the one thing the two fakes cannot know of each other, the kernel's references
/// from rules to sets: after every restore the fake iptables accepts, each set's reference count
/// becomes the number of rules (any family, any table) matching on it. So destroying a set a rule
/// still uses is refused as the kernel would ("in use"), and the fake iptables refuses a rule naming
/// a set that does not exist yet — an ordering mistake fails the apply, not just an assertion.
/// </para>
/// </summary>
internal sealed partial class HostCommands : ICommandRunner
{
    private static readonly string[] Tables = ["filter", "nat"];

    private readonly Lock _gate = new();
    private readonly List<HostRun> _runs = [];

    public HostCommands()
    {
        Ipset = new FakeIpset();
        Iptables = new FakeIptables(new FakeIptablesOptions { SetExists = Ipset.Exists });
    }

    public FakeIpset Ipset { get; }

    public FakeIptables Iptables { get; }

    /// <summary>Awaited before each run is passed on: a test holds an apply in flight here.</summary>
    public Func<Command, Task>? BeforeRun { get; set; }

    /// <summary>Awaited before each run, after <see cref="BeforeRun"/>, with the run's cancellation: a test sees a run in flight stopped.</summary>
    public Func<Command, CancellationToken, Task>? BeforeRunCancellable { get; set; }

    public IReadOnlyList<HostRun> Runs
    {
        get
        {
            lock (_gate)
            {
                return [.. _runs];
            }
        }
    }

    public async Task<CommandResult> RunAsync(Command command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (BeforeRun is { } gate)
        {
            await gate(command);
        }
        if (BeforeRunCancellable is { } cancellableGate)
        {
            await cancellableGate(command, cancellationToken);
        }
        var program = Path.GetFileName(command.FileName);
        ICommandRunner target = program switch
        {
            "ipset" => Ipset,
            _ when program.StartsWith("iptables", StringComparison.Ordinal) || program.StartsWith("ip6tables", StringComparison.Ordinal) => Iptables,
            _ => throw new CommandException($"cannot run {command.FileName}: No such file or directory"),
        };
        var result = await target.RunAsync(command, cancellationToken);
        var input = command.StandardInput?.ToString() ?? string.Join(' ', command.Arguments);
        lock (_gate)
        {
            _runs.Add(new HostRun(program, input.Split('\n')[0], input, result.Succeeded));
        }
        if (target == Iptables && program.EndsWith("-restore", StringComparison.Ordinal) && result.Succeeded)
        {
            UpdateSetReferences();
        }
        return result;
    }

    /// <summary>The sets the rules of every table of both families match on, counted per rule.</summary>
    public Dictionary<string, int> SetReferences()
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var family in new[] { IpVersion.V4, IpVersion.V6 })
        {
            foreach (var table in Tables)
            {
                foreach (var chain in Iptables.ChainNames(family, table))
                {
                    foreach (var rule in Iptables.Chain(family, table, chain) ?? [])
                    {
                        foreach (Match match in MatchSet().Matches(rule))
                        {
                            counts[match.Groups[1].Value] = counts.GetValueOrDefault(match.Groups[1].Value) + 1;
                        }
                    }
                }
            }
        }
        return counts;
    }

    private void UpdateSetReferences()
    {
        var counts = SetReferences();
        foreach (var name in Ipset.SetNames())
        {
            Ipset.SetReferences(name, counts.GetValueOrDefault(name));
        }
    }

    [GeneratedRegex(@"--match-set (\S+)")]
    private static partial Regex MatchSet();
}
