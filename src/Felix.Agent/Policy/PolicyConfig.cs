using System.Net;
using System.Numerics;
using Felix.Agent.Hosting.Configuration;

namespace Felix.Agent.Policy;

/// <summary>
/// The configuration the rendered chains depend on. <see cref="MetadataAddress"/> is an address,
/// not the configured host name: it is resolved once by whoever builds this, so rendering stays a
/// pure function and <c>iptables-restore</c> never does a DNS lookup.
/// </summary>
public sealed record PolicyConfig
{
    /// <summary>
    /// Above this many local endpoints a dispatch chain splits into a tree by the next character of
    /// the interface name, so a packet walks a few short chains instead of one long one.
    /// </summary>
    public const int DefaultDispatchTreeThreshold = 32;

    public PolicyConfig(string interfacePrefix, uint markMask)
    {
        InterfacePrefix = interfacePrefix;
        MarkMask = markMask != 0 ? markMask : throw new ArgumentException("the mark mask needs at least one bit", nameof(markMask));
    }

    public string InterfacePrefix { get; }

    /// <summary>IptablesMarkMask: the packet mark bits the agent may use.</summary>
    public uint MarkMask { get; }

    /// <summary>"A profile accepted this packet": the lowest bit of <see cref="MarkMask"/>.</summary>
    public uint AcceptMark => 1u << BitOperations.TrailingZeroCount(MarkMask);

    public EndpointToHostAction EndpointToHostAction { get; init; } = EndpointToHostAction.Drop;

    /// <summary>The metadata server workloads may reach on the host, or null for none.</summary>
    public IPAddress? MetadataAddress { get; init; } = IPAddress.Loopback;

    public int MetadataPort { get; init; } = 8775;

    public int DispatchTreeThreshold
    {
        get;
        init => field = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "must be at least 1");
    } = DefaultDispatchTreeThreshold;

    /// <summary>The interface wildcard that matches every workload interface: <c>cali+</c>.</summary>
    public string InterfaceWildcard => InterfacePrefix + "+";
}
