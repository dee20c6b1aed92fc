using System.Globalization;

namespace Felix.Dataplane.Tests.Fakes;

internal sealed partial class FakeRestore
{
    /// <summary>
    /// Splits a command line into the command, its chain and number, and the rule. Like getopt, the
    /// command may stand anywhere among the options; only the values of free-text options are skipped.
    /// </summary>
    private Op ParseCommand(int number, string text)
    {
        var tokens = RuleSpec.Tokenize(text);
        string? counters = null;
        if (tokens.Count > 0 && FakeIptablesState.IsCounters(tokens[0]))
        {
            // Both tools ignore a "[p:b]" prefix unless -c asks for counters, and ip6tables-nft 1.8.9 ignores it even then.
            counters = _arguments.Counters && !(_dialect.IsNft && _dialect.Family == IpVersion.V6) ? tokens[0] : null;
            tokens.RemoveAt(0);
        }
        var at = -1;
        var command = default(char);
        for (var i = 0; i < tokens.Count; i++)
        {
            if (RuleSpec.IsStringOption(tokens[i]))
            {
                i++;
            }
            else if (Commands.TryGetValue(tokens[i], out command))
            {
                at = i;
                break;
            }
        }
        if (at < 0)
        {
            throw tokens.Count > 0 && !tokens[0].StartsWith('-') && tokens[0] != "!"
                ? new ParameterProblemException($"Bad argument `{tokens[0]}'", prefixed: false)
                : new ParameterProblemException("no command specified");
        }

        var flag = tokens[at];
        var next = at + 1;
        string? chain = null;
        if (next < tokens.Count && !tokens[next].StartsWith('-') && tokens[next] != "!")
        {
            chain = tokens[next++];
            CheckChainName(chain, declaration: false);
        }
        else if (command is not ('F' or 'X' or 'S'))
        {
            throw new ParameterProblemException($"option \"{flag}\" requires an argument");
        }
        int? position = null;
        if (command is 'I' or 'R' or 'D' && next < tokens.Count && tokens[next].Length > 0 && tokens[next].All(char.IsAsciiDigit))
        {
            if (!int.TryParse(tokens[next], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n == 0)
            {
                throw new ParameterProblemException($"Invalid rule number `{tokens[next]}'");
            }
            position = n;
            next++;
        }
        if (command == 'R' && position is null)
        {
            throw new ParameterProblemException("-R requires a rule number");
        }
        string? policy = null;
        if (command == 'P')
        {
            policy = next < tokens.Count ? tokens[next++] : throw new ParameterProblemException($"option \"{flag}\" requires an argument");
        }

        var rest = tokens[..at].Concat(tokens[next..]).ToList();
        var takesRule = command is 'A' or 'I' or 'R' || (command == 'D' && position is null);
        if (!takesRule)
        {
            return rest.Count > 0
                ? throw new ParameterProblemException($"Bad argument `{rest[0]}'", prefixed: false)
                : new Op(number, command, chain, position, Policy: policy);
        }
        var rule = RuleSpec.Parse(rest, _dialect.Family);
        foreach (var set in rule.Sets)
        {
            if (_setExists is { } exists && !exists(set))
            {
                throw new ParameterProblemException($"Set {set} doesn't exist.\n");
            }
        }
        return new Op(number, command, chain, position, rule, Counters: counters);
    }

    /// <param name="op">The command.</param>
    /// <param name="jumpLine">The line a missing jump target is blamed on: the rule's (legacy) or COMMIT's (nft).</param>
    private void Execute(Op op, int jumpLine)
    {
        switch (op.Command)
        {
            case ':':
                Declare(op);
                break;
            case 'N':
                if (Working.Find(op.Chain!) is not null)
                {
                    throw _dialect.LineFailed(op.Line, OperationError.ChainExists);
                }
                Working.AddUserChain(op.Chain!);
                break;
            case 'A' or 'I' or 'R':
                PutRule(op, jumpLine);
                break;
            case 'D':
                DeleteRule(op, jumpLine);
                break;
            case 'F':
                foreach (var chain in op.Chain is null ? Working.Chains : [ChainOf(op)])
                {
                    chain.Rules.Clear();
                }
                break;
            case 'X':
                // Legacy walks its sorted chain list; nft its cache, oldest chain first.
                var userChains = _dialect.IsNft ? Working.UserChainsByCreation : Working.Chains.Where(c => !c.IsBuiltin);
                foreach (var chain in op.Chain is null ? userChains.ToList() : [ChainOf(op)])
                {
                    DeleteChain(op, chain);
                }
                if (op.Chain is null && _dialect.IsNft)
                {
                    // nft's -X also deletes the built-in chains that are empty with policy ACCEPT; they
                    // come back on next use, with zeroed counters.
                    foreach (var chain in Working.Chains.Where(c => c is { IsBuiltin: true, Rules.Count: 0, Policy: "ACCEPT" }))
                    {
                        chain.Counters = FakeTable.ZeroCounters;
                    }
                }
                break;
            case 'P':
                SetPolicy(op);
                break;
            case 'S':
                // A listing changes nothing; the fake does not print it (the agent ignores it).
                if (op.Chain is not null)
                {
                    ChainOf(op);
                }
                _listedAll |= op.Chain is null;
                break;
            default:
                throw new InvalidOperationException($"unknown command '{op.Command}'");
        }
    }

    /// <summary>
    /// <c>:CHAIN POLICY [p:b]</c>: a built-in chain gets the policy (<c>-</c> keeps it) and keeps its
    /// rules; a user chain is created, or flushed if it exists — both backends flush even under
    /// <c>--noflush</c>, so a declaration is also how a restore empties a chain it rewrites.
    /// </summary>
    private void Declare(Op op)
    {
        var name = op.Chain!;
        var policy = op.Policy!;
        var chain = Working.Find(name);
        if (Working.IsBuiltin(name))
        {
            if (policy != "-")
            {
                if (policy is not ("ACCEPT" or "DROP"))
                {
                    throw _dialect.IsNft
                        ? _dialect.LineFailed(op.Line, OperationError.BadPolicy)
                        : _dialect.Policy(op.Line, policy, name, "Bad policy name");
                }
                chain!.Policy = policy;
            }
            if (op.Counters is { } counters)
            {
                chain!.Counters = counters;
                _countersSet.Add(name);
            }
            return;
        }
        // nft ignores a policy on a user chain (and so makes "PREROUTING" in filter a user chain); legacy refuses it.
        if (policy != "-" && !_dialect.IsNft)
        {
            throw _dialect.Policy(op.Line, policy, name, "Bad built-in chain name");
        }
        if (chain is null)
        {
            Working.AddUserChain(name);
        }
        else
        {
            chain.Rules.Clear();
        }
    }

    private void PutRule(Op op, int jumpLine)
    {
        var chain = ChainOf(op);
        CheckTarget(op, jumpLine);
        var rule = new FakeRule(op.Rule!.Spec, op.Counters ?? FakeTable.ZeroCounters);
        switch (op.Command)
        {
            case 'A':
                chain.Rules.Add(rule);
                break;
            case 'I':
                var insertAt = op.Position ?? 1;
                if (insertAt > chain.Rules.Count + 1)
                {
                    throw _dialect.LineFailed(op.Line, OperationError.InsertIndex);
                }
                chain.Rules.Insert(insertAt - 1, rule);
                break;
            default:
                if (op.Position > chain.Rules.Count)
                {
                    throw _dialect.LineFailed(op.Line, OperationError.ReplaceIndex);
                }
                chain.Rules[op.Position!.Value - 1] = rule;
                break;
        }
        // nft 1.8.9 creates a built-in chain on first use, except in a batch that listed the whole
        // table: then the kernel is sent rules for a chain it does not have. The fake knows a
        // chain's existence only with its table's, so it refuses them in a table the batch creates.
        var errno = _dialect.IsNft && _listedAll && _freshTable && chain.IsBuiltin ? "No such file or directory"
            : _dialect.IsNft ? KernelRefusal(op.Rule) : null;
        if (errno is not null)
        {
            var verb = op.Command switch { 'A' => "RULE_APPEND", 'I' => "RULE_INSERT", _ => "RULE_REPLACE" };
            _kernelErrors.Add($"line {op.Line.ToString(CultureInfo.InvariantCulture)}: {verb} failed ({errno}): rule in chain {chain.Name}");
        }
    }

    /// <summary>What nft's kernel says to a rule it refuses; legacy refuses only the wrong-table targets, at COMMIT.</summary>
    private string? KernelRefusal(ParsedRule rule) => rule switch
    {
        { Target: { } t } when !Targets.AllowedIn(t, Working.Name, nft: true) => "Invalid argument",
        { NegatesEverything: true } => "Invalid argument",
        { Target: { } t } when Targets.NftRefuses(t) || Working.IsBuiltin(t) => "No such file or directory",
        _ => null,
    };

    private void DeleteRule(Op op, int jumpLine)
    {
        var chain = ChainOf(op);
        if (op.Rule is null)
        {
            if (op.Position > chain.Rules.Count)
            {
                throw _dialect.LineFailed(op.Line, OperationError.DeleteIndex);
            }
            chain.Rules.RemoveAt(op.Position!.Value - 1);
            return;
        }
        CheckTarget(op, jumpLine);
        var index = chain.Rules.FindIndex(r => r.Spec == op.Rule.Spec);
        if (index < 0)
        {
            throw _dialect.LineFailed(op.Line, OperationError.NoMatchingRule);
        }
        chain.Rules.RemoveAt(index);
    }

    private void CheckTarget(Op op, int jumpLine)
    {
        if (op.Rule!.Target is not { } target || Targets.IsKnown(target) || Working.Find(target) is { IsBuiltin: false })
        {
            return;
        }
        if (Working.IsBuiltin(target))
        {
            // A jump to a built-in chain: legacy's libiptc refuses the line; nft's kernel refuses the rule.
            if (!_dialect.IsNft)
            {
                throw _dialect.LineFailed(op.Line);
            }
            return;
        }
        throw _dialect.Parameter(_dialect.IsNft ? jumpLine : op.Line, _dialect.MissingTarget(target, op.Rule.IsGoto));
    }

    /// <summary>
    /// <c>-X</c> of a built-in, non-empty or referenced chain: legacy fails the line; nft's kernel
    /// refuses the deletion, and nft goes on (its cache drops the chain) to report every refusal at once.
    /// </summary>
    private void DeleteChain(Op op, FakeChain chain)
    {
        var busy = chain.IsBuiltin || chain.Rules.Count > 0 || Working.References(chain.Name) > 0;
        if (busy && !_dialect.IsNft)
        {
            throw _dialect.LineFailed(op.Line);
        }
        if (busy)
        {
            var line = op.Line.ToString(CultureInfo.InvariantCulture);
            _kernelErrors.Add($"line {line}: CHAIN_DEL failed (Device or resource busy): chain {chain.Name}");
        }
        if (!chain.IsBuiltin)
        {
            Working.RemoveUserChain(chain.Name);
        }
    }

    private void SetPolicy(Op op)
    {
        var chain = ChainOf(op);
        if (!chain.IsBuiltin)
        {
            throw _dialect.LineFailed(op.Line);
        }
        chain.Policy = op.Policy is "ACCEPT" or "DROP" ? op.Policy : throw _dialect.LineFailed(op.Line, OperationError.BadPolicy);
    }

    private FakeChain ChainOf(Op op) => Working.Find(op.Chain!) ?? throw _dialect.LineFailed(op.Line, OperationError.NoChain);
}
