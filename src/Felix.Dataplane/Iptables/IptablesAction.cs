namespace Felix.Dataplane.Iptables;

/// <summary>
/// What a rule does when it matches: the <c>-j</c> / <c>-g</c> part. A closed set of sealed records,
/// so every action the agent can ever write is listed here and renders one fixed way.
/// </summary>
public abstract record IptablesAction
{
    private protected IptablesAction()
    {
    }

    public static IptablesAction Accept { get; } = new AcceptAction();

    public static IptablesAction Drop { get; } = new DropAction();

    public static IptablesAction Return { get; } = new ReturnAction();

    public static IptablesAction Masquerade { get; } = new MasqueradeAction();

    /// <summary>The chain this action continues in, for reference checks and deletion order.</summary>
    public virtual string? TargetChain => null;

    public abstract string Render();
}

public sealed record AcceptAction : IptablesAction
{
    public override string Render() => "-j ACCEPT";
}

public sealed record DropAction : IptablesAction
{
    public override string Render() => "-j DROP";
}

public sealed record ReturnAction : IptablesAction
{
    public override string Render() => "-j RETURN";
}

public sealed record MasqueradeAction : IptablesAction
{
    public override string Render() => "-j MASQUERADE";
}

/// <summary>Continue in <see cref="Chain"/> and come back here when it returns.</summary>
public sealed record JumpAction(string Chain) : IptablesAction
{
    private readonly string _text = $"-j {IptablesNames.Chain(Chain)}";

    public string Chain { get; } = Chain;

    public override string? TargetChain => Chain;

    public override string Render() => _text;
}

/// <summary>Continue in <see cref="Chain"/>; its RETURN goes back to whoever jumped here.</summary>
public sealed record GotoAction(string Chain) : IptablesAction
{
    private readonly string _text = $"-g {IptablesNames.Chain(Chain)}";

    public string Chain { get; } = Chain;

    public override string? TargetChain => Chain;

    public override string Render() => _text;
}

/// <summary>
/// Sets the bits of <see cref="Mask"/> in the packet mark to those of <see cref="Mark"/>. Not a
/// positional record: its properties are get-only, so a <c>with</c> cannot skip the check.
/// </summary>
public sealed record SetMarkAction : IptablesAction
{
    public SetMarkAction(uint mark, uint mask)
    {
        if ((mark & ~mask) != 0)
        {
            throw new ArgumentException($"mark {MatchCriteria.Hex(mark)} has bits outside {MatchCriteria.Hex(mask)}", nameof(mark));
        }
        (Mark, Mask) = (mark, mask);
        _text = $"-j MARK --set-xmark {MatchCriteria.Hex(mark)}/{MatchCriteria.Hex(mask)}";
    }

    private readonly string _text;

    public uint Mark { get; }

    public uint Mask { get; }

    public override string Render() => _text;
}

/// <summary>Logs the packet to the kernel log with a prefix (at most 29 characters, no quotes).</summary>
public sealed record LogAction(string Prefix) : IptablesAction
{
    public const int MaxPrefixLength = 29;

    public string Prefix { get; } = IptablesNames.Text(Prefix, MaxPrefixLength);

    public override string Render() => $"-j LOG --log-prefix \"{Prefix}\"";
}
