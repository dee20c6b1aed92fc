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

    public override string ToString() => RenderBody();
}
