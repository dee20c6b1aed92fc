using System.Net;
using System.Text.RegularExpressions;
using Felix.Dataplane.Exec;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Routes;

/// <summary>
/// Deletes the conntrack entries of one address with the <c>conntrack</c> tool, so flows of a
/// workload whose route was removed or moved stop instead of riding their ESTABLISHED entries
/// through the forward chain's accept, possibly to a new workload that took the address.
/// <para>
/// Four runs per address, one per direction (a run's filters are ANDed): <c>--orig-src</c> (flows
/// the workload opened), <c>--orig-dst</c> (flows to it), <c>--reply-src</c> (flows to it that
/// were DNATed, e.g. through a service address: their original destination is not the workload)
/// and <c>--reply-dst</c> (flows SNATed to its address). Exit 1 with "0 flow entries have been
/// deleted" means nothing matched. A failed run is tried twice more (the tool has been seen to
/// fail at random under load); a program that cannot be started is not.
/// </para>
/// </summary>
public sealed partial class ConntrackFlusher(ICommandRunner runner, ILogger logger, TimeSpan timeout)
{
    private readonly ICommandRunner _runner = runner ?? throw new ArgumentNullException(nameof(runner));
    private readonly ILogger _logger = logger ?? throw new ArgumentNullException(nameof(logger));

    private const string Tool = "conntrack";
    private const int AttemptsPerRun = 3;

    private static readonly string[] Directions = ["--orig-src", "--orig-dst", "--reply-src", "--reply-dst"];

    /// <summary>
    /// True when every direction was flushed (or had nothing to flush); failures are logged here.
    /// The four runs go at once: each takes 20–30 ms on a loaded host, and they run inside the
    /// apply that removes the route, so one after another they held up the next change by 100 ms.
    /// </summary>
    public async Task<bool> FlushAsync(IpVersion version, IPAddress address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        var family = version == IpVersion.V4 ? "ipv4" : "ipv6";
        var runs = await Task.WhenAll(Directions.Select(d => FlushDirectionAsync(family, address, d, cancellationToken))).ConfigureAwait(false);
        // A program that cannot be started fails every direction alike: one line per address, not four.
        if (runs.FirstOrDefault(r => r.Unstartable) is { Error: { } unstartable } first)
        {
            LogFlushFailed(_logger, address, first.Direction, unstartable);
            return false;
        }
        foreach (var (direction, error, _) in runs.Where(r => r.Error is not null))
        {
            LogFlushFailed(_logger, address, direction, error!);
        }
        return runs.All(r => r.Error is null);
    }

    private async Task<(string Direction, string? Error, bool Unstartable)> FlushDirectionAsync(string family, IPAddress address, string direction,
        CancellationToken cancellationToken)
    {
        var command = new Command(Tool, ["--family", family, "--delete", direction, address.ToString()], null, timeout);
        string? error = null;
        for (var attempt = 1; attempt <= AttemptsPerRun; attempt++)
        {
            try
            {
                var result = await _runner.RunAsync(command, cancellationToken).ConfigureAwait(false);
                if (result.Succeeded || (result.ExitCode == 1 && NothingDeleted().IsMatch(result.StandardError)))
                {
                    return (direction, null, false);
                }
                error = $"exit {result.ExitCode}: {result.StandardError.Trim()}";
            }
            catch (CommandException e)
            {
                return (direction, e.Message, true);
            }
        }
        return (direction, error, false);
    }

    [GeneratedRegex(@"(^|\D)0 flow entries have been deleted")]
    private static partial Regex NothingDeleted();

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not flush the conntrack entries of {Address} ({Direction}); its old flows may go on until they time out: {Error}")]
    private static partial void LogFlushFailed(ILogger logger, IPAddress address, string direction, string error);
}
