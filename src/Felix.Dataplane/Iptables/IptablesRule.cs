using System.Text;

namespace Felix.Dataplane.Iptables;

/// <summary>
/// One rule: what it matches, what it does, and an optional comment for the operator reading
/// <c>iptables-save</c>. The comment comes first in the rendered line, where iptables-save prints it
/// back, so a reader can find a rule's comment without parsing its matches.
/// </summary>
public sealed record IptablesRule
{
    public IptablesRule(MatchCriteria match, IptablesAction action, string? comment = null)
    {
        Match = match;
        Action = action;
        Comment = comment is null ? null : IptablesNames.Text(comment, IptablesNames.MaxCommentLength);
    }

    public IptablesRule(IptablesAction action, string? comment = null)
        : this(MatchCriteria.Any, action, comment)
    {
    }

    public MatchCriteria Match { get; }

    public IptablesAction Action { get; }

    public string? Comment { get; }

    /// <summary>The rule's <see cref="RuleHash"/>, computed once: shared rules appear in thousands of chains.</summary>
    public string Hash => field ??= RuleHash.Of(RenderBody());

    /// <summary>The rule as the agent writes it: its hash comment, then its body.</summary>
    public StringBuilder AppendHashedBody(StringBuilder text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return AppendBody(text.Append("-m comment --comment \"").Append(RuleHash.CommentPrefix).Append(Hash).Append("\" "));
    }

    /// <summary>The rule's body: everything after <c>-A &lt;chain&gt;</c>.</summary>
    public string RenderBody() => AppendBody(new StringBuilder()).ToString();

    /// <summary>Writes the body straight into a restore script, without a string per rule.</summary>
    public StringBuilder AppendBody(StringBuilder text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Comment is not null)
        {
            text.Append("-m comment --comment \"").Append(Comment).Append("\" ");
        }
        if (!Match.IsAny)
        {
            Match.AppendTo(text).Append(' ');
        }
        return text.Append(Action.Render());
    }

    public string RenderAppend(string chain) => $"-A {IptablesNames.Chain(chain)} {RenderBody()}";

    /// <summary>By content only: the cached <see cref="Hash"/> must not make equal rules differ.</summary>
    public bool Equals(IptablesRule? other) =>
        ReferenceEquals(this, other)
        || (other is not null && Match.Equals(other.Match) && Action.Equals(other.Action) && Comment == other.Comment);

    public override int GetHashCode() => HashCode.Combine(Match, Action, Comment);

    public override string ToString() => RenderBody();
}
