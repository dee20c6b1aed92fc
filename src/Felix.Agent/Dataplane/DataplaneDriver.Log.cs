using Microsoft.Extensions.Logging;

namespace Felix.Agent.Dataplane;

internal sealed partial class DataplaneDriver
{
    [LoggerMessage(Level = LogLevel.Information, Message = "The datastore is in sync; applying the dataplane")]
    private static partial void LogInSync(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Dataplane ready: {Endpoints} local endpoints, {Profiles} profiles, {Sets} tag sets programmed (first full apply {Milliseconds:0} ms)")]
    private static partial void LogReady(ILogger logger, int endpoints, int profiles, int sets, double milliseconds);

    [LoggerMessage(Level = LogLevel.Debug,
        Message = "Dataplane applied in {Milliseconds:0.0} ms (done at: iptables {Iptables:0.0} ms, ipsets {IpSets:0.0} ms, routes and interfaces {Routes:0.0} ms)")]
    private static partial void LogApplied(ILogger logger, double milliseconds, double iptables, double ipSets, double routes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dataplane apply: {Result} after {Milliseconds:0} ms; the failed part is read back and retried in {Seconds:0.#} s")]
    private static partial void LogApplyFailed(ILogger logger, string result, double milliseconds, double seconds);

    [LoggerMessage(Level = LogLevel.Critical,
        Message = "{Part} has failed for {Seconds:0} s without one success; exiting so the agent starts again from etcd and the kernel")]
    private static partial void LogGivingUp(ILogger logger, string part, double seconds);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Watching link events failed ({Error}); exiting so the agent starts again")]
    private static partial void LogLinkWatchFailed(ILogger logger, string error);
}
