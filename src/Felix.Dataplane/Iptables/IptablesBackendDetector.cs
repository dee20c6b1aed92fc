using Felix.Dataplane.Exec;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Iptables;

/// <summary>
/// Picks the iptables backend the way an operator would: the one that already holds rules, so the
/// agent's chains sit next to Docker's, kube-proxy's and the admin's instead of in a second,
/// invisible ruleset; nft when neither holds any, as Debian 12's default <c>iptables</c> does. Both
/// families are counted, and a backend whose tools are missing counts as empty.
/// </summary>
public sealed partial class IptablesBackendDetector
{
    private readonly ICommandRunner _runner;
    private readonly ILogger _logger;

    public IptablesBackendDetector(ICommandRunner runner, ILogger logger)
    {
        _runner = runner;
        _logger = logger;
    }

    public async Task<IptablesBackendKind> DetectAsync(CancellationToken cancellationToken)
    {
        var legacy = await CountRulesAsync(IptablesBackendKind.Legacy, cancellationToken).ConfigureAwait(false);
        var nft = await CountRulesAsync(IptablesBackendKind.Nft, cancellationToken).ConfigureAwait(false);
        var chosen = legacy > nft ? IptablesBackendKind.Legacy : IptablesBackendKind.Nft;
        var reason = (legacy, nft) switch
        {
            (0, 0) => "neither backend holds rules; nft is the default",
            _ when chosen == IptablesBackendKind.Legacy => "legacy holds more rules",
            _ => "nft holds at least as many rules",
        };
        LogChosen(_logger, chosen == IptablesBackendKind.Nft ? "nft" : "legacy", legacy, nft, reason);
        return chosen;
    }

    private async Task<int> CountRulesAsync(IptablesBackendKind backend, CancellationToken cancellationToken)
    {
        var total = 0;
        foreach (var version in new[] { IpVersion.V4, IpVersion.V6 })
        {
            var save = new IptablesCommands(version, backend, 0).Save;
            try
            {
                var rules = new RuleCounter();
                var result = await _runner.RunAsync(new Command(save, [], null, IptablesCommands.SaveTimeout, rules), cancellationToken)
                    .ConfigureAwait(false);
                if (result.Succeeded)
                {
                    total += rules.Count;
                }
                else
                {
                    LogUnreadable(_logger, save, result.StandardError.Split('\n', 2)[0]);
                }
            }
            catch (CommandException e)
            {
                LogUnreadable(_logger, save, e.Message);
            }
        }
        return total;
    }

    /// <summary>Counts the rules of a save's output as it is read: at scale the output is tens of MB.</summary>
    private sealed class RuleCounter : IOutputLines
    {
        public int Count { get; private set; }

        public void Line(ReadOnlySpan<char> line)
        {
            if (line.StartsWith("-A "))
            {
                Count++;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "iptables backend: {Backend} (rules found: legacy {Legacy}, nft {Nft}; {Reason})")]
    private static partial void LogChosen(ILogger logger, string backend, int legacy, int nft, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot count rules with {Tool}, taking it as empty: {Error}")]
    private static partial void LogUnreadable(ILogger logger, string tool, string error);
}
