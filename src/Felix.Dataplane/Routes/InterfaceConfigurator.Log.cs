using Microsoft.Extensions.Logging;

namespace Felix.Dataplane.Routes;

public sealed partial class InterfaceConfigurator
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Configured workload interface {Interface} (link {Index}); parameters set: {Changes}; netlink: {Requests}")]
    private static partial void LogConfigured(ILogger logger, string @interface, int index, string changes, string requests);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Workload interface {Interface} (link {Index}) was already configured")]
    private static partial void LogAlreadyConfigured(ILogger logger, string @interface, int index);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workload interface {Interface} had been changed by someone else; set back: {Changes}")]
    private static partial void LogRepaired(ILogger logger, string @interface, string changes);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Workload interface {Interface} (link {Index}) vanished while being configured ({How}); it is configured when it comes back")]
    private static partial void LogVanished(ILogger logger, string @interface, int index, string how);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workload interface {Interface}: could not set its kernel parameters: {Error}; trying again in {Seconds} s")]
    private static partial void LogSysctlFailed(ILogger logger, string @interface, string error, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workload interface {Interface}: the kernel refused {Request}: {Error}; trying again in {Seconds} s")]
    private static partial void LogRequestRefused(ILogger logger, string @interface, string request, string error, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Netlink failed sending {Requests} requests for {Interfaces} workload interfaces: {Error}; trying again in {Seconds} s")]
    private static partial void LogBatchFailed(ILogger logger, int requests, int interfaces, string error, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Listing the links failed: {Error}; trying again in {Seconds} s")]
    private static partial void LogListFailed(ILogger logger, string error, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Set {Change}")]
    private static partial void LogGlobalSet(ILogger logger, string change);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not set the global forwarding parameters: {Error}; trying again in {Seconds} s")]
    private static partial void LogGlobalsFailed(ILogger logger, string error, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ipv6Support is on but the kernel has no IPv6 (no /proc/sys/net/ipv6): configuring IPv4 only")]
    private static partial void LogNoIpv6InKernel(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Turned IPv6 forwarding on for the whole namespace: a host interface that learns its IPv6 default route from router advertisements now ignores them unless its accept_ra is 2")]
    private static partial void LogIpv6ForwardingOn(ILogger logger);

    // Information, not a warning: the kernel's loose check only differs from the strict one on an
    // interface that holds an IPv4 address, and workload interfaces hold none, so a source not
    // routed through the workload's own interface is rejected either way
    // (SpoofingTests.The_kernel_drops_IPv4_spoofs_before_the_chain_whatever_conf_all_rp_filter_says…).
    [LoggerMessage(Level = LogLevel.Information, Message = "{Path} is 2 (loose): workload interfaces hold no IPv4 address, so the kernel still rejects a workload source not routed through its own interface, as with rp_filter 1; an interface given an IPv4 address would be checked loosely")]
    private static partial void LogLooseRpFilter(ILogger logger, string path);
}
