using Felix.Dataplane.Exec;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>The two implementations behind the iptables commands, which differ in error messages and timing.</summary>
public enum FakeIptablesBackend
{
    Legacy,
    Nft,
}

/// <summary>Which half of the tool pair a command is.</summary>
public enum FakeIptablesTool
{
    Restore,
    Save,
}

/// <summary>How a <see cref="FakeIptables"/> host is set up.</summary>
public sealed class FakeIptablesOptions
{
    /// <summary>
    /// The date every saved header shows: fixed, so save output and <see cref="FakeIptables.Snapshot"/>
    /// compare byte for byte across calls.
    /// </summary>
    public static readonly DateTimeOffset DefaultNow = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// True: the legacy and nft tools see separate kernel state, as on a real host (x_tables and
    /// nf_tables are different subsystems), so a test can leave rules in one and none in the other.
    /// False (default): both tools of a family read and write one state, for tests that do not care
    /// which backend the code under test picks.
    /// </summary>
    public bool SeparateBackends { get; init; }

    /// <summary>
    /// The backend <c>iptables-restore</c> and <c>iptables-save</c> (no <c>-legacy</c>/<c>-nft</c>)
    /// run; Debian 12's alternatives point them at nft.
    /// </summary>
    public FakeIptablesBackend UnqualifiedBackend { get; init; } = FakeIptablesBackend.Nft;

    /// <summary>
    /// Whether an ipset exists, for <c>--match-set NAME</c>; null: every set exists. Both real
    /// backends refuse a rule naming a missing set ("Set NAME doesn't exist.").
    /// </summary>
    public Func<string, bool>? SetExists { get; init; }

    /// <summary>The clock for the save header's date.</summary>
    public TimeProvider Clock { get; init; } = new FixedClock(DefaultNow);

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

/// <summary>One command the fake was asked to run, and what it returned (null: it threw).</summary>
public sealed record FakeIptablesCall(Command Command, FakeIptablesTool? Tool, CommandResult? Result);
