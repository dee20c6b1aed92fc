using System.Net;
using Felix.Dataplane.Netlink;
using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Routes;

/// <summary>
/// Deletes the conntrack entries of addresses whose route was removed or moved, so flows of a
/// workload that went stop instead of riding their ESTABLISHED entries through the forward
/// chain's accept, possibly to a new workload that took the address. Every entry naming the
/// address goes, whichever direction: flows it opened, flows to it, flows DNATed to it (a
/// service address: only the reply source names the workload) and flows SNATed to it. All
/// addresses of one apply share one listing of the table. A failure is logged, not retried: the
/// address is routed anew all the same, as an old flow is less harm than no route.
/// </summary>
public sealed partial class ConntrackFlusher(IConntrackNetlink netlink, ILogger logger)
{
    private readonly IConntrackNetlink _netlink = netlink ?? throw new ArgumentNullException(nameof(netlink));
    private readonly ILogger _logger = logger ?? throw new ArgumentNullException(nameof(logger));

    /// <summary>True when every entry of the addresses was deleted (or there were none); failures are logged here.</summary>
    public bool Flush(IpVersion version, IReadOnlyCollection<IPAddress> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        if (addresses.Count == 0)
        {
            return true;
        }
        try
        {
            var result = _netlink.DeleteFlows(version, addresses);
            LogFlushed(_logger, (int)version, result.Deleted, addresses.Count);
            if (result.Refused > 0)
            {
                LogRefused(_logger, (int)version, result.Refused, Describe(addresses), result.FirstRefusal?.ToString() ?? "(unknown)");
                return false;
            }
            return true;
        }
        catch (NetlinkException e)
        {
            LogFlushFailed(_logger, (int)version, Describe(addresses), e.Message);
            return false;
        }
    }

    private static string Describe(IReadOnlyCollection<IPAddress> addresses) =>
        addresses.Count <= 5 ? string.Join(", ", addresses) : $"{string.Join(", ", addresses.Take(5))} and {addresses.Count - 5} more";

    [LoggerMessage(Level = LogLevel.Debug, Message = "conntrack (IPv{Version}): deleted {Deleted} entries of {Addresses} addresses")]
    private static partial void LogFlushed(ILogger logger, int version, int deleted, int addresses);

    [LoggerMessage(Level = LogLevel.Error, Message = "conntrack (IPv{Version}): the kernel refused to delete {Refused} entries of {Addresses}; those flows may go on until they time out. First refusal: {Error}")]
    private static partial void LogRefused(ILogger logger, int version, int refused, string addresses, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "conntrack (IPv{Version}): could not flush the entries of {Addresses}; their old flows may go on until they time out: {Error}")]
    private static partial void LogFlushFailed(ILogger logger, int version, string addresses, string error);
}
