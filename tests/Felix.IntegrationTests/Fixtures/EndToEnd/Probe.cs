using System.Net;
using System.Net.Sockets;

namespace Felix.IntegrationTests.Fixtures.EndToEnd;

/// <summary>How a TCP connection attempt ended.</summary>
public enum ProbeOutcome
{
    /// <summary>The handshake completed: the port is open to this source.</summary>
    Connected,

    /// <summary>A RST or ICMP port unreachable: nothing listens there, or a REJECT rule.</summary>
    Refused,

    /// <summary>No answer within the probe's timeout: what a DROP rule looks like from outside.</summary>
    TimedOut,

    /// <summary>An ICMP host/network unreachable, or no route: the address cannot be reached at all.</summary>
    Unreachable,

    /// <summary>Any other socket error; <see cref="ProbeResult.Detail"/> names it.</summary>
    Failed,
}

/// <summary>One probe's outcome, with the socket error behind it when there is one.</summary>
public readonly record struct ProbeResult(ProbeOutcome Outcome, string? Detail = null)
{
    public bool IsOpen => Outcome == ProbeOutcome.Connected;

    /// <summary>A short word for tables: <c>open</c>, <c>rst</c>, <c>drop</c>, <c>unr</c>, <c>err</c>.</summary>
    public string Code => Outcome switch
    {
        ProbeOutcome.Connected => "open",
        ProbeOutcome.Refused => "rst",
        ProbeOutcome.TimedOut => "drop",
        ProbeOutcome.Unreachable => "unr",
        _ => "err",
    };

    public override string ToString() => Detail is null ? Code : $"{Code} ({Detail})";
}

/// <summary>
/// TCP connection attempts made from inside a workload's namespace by the test process: the socket
/// is created in the source namespace, so the packets leave through the workload's <c>eth0</c>
/// exactly as the container's own would. Every attempt is bounded by its timeout; anything but a
/// completed handshake counts as closed, and the result says which kind of closed it was.
/// </summary>
public static class Probe
{
    /// <summary>
    /// Long enough for a second SYN (Linux resends after 1 s) should the first be lost while a
    /// neighbour entry resolves; a DROP costs this much per probe, which is why probes run in parallel.
    /// </summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Whether a TCP connection from <paramref name="from"/> to <paramref name="to"/>:<paramref name="port"/> completes within <paramref name="timeout"/>.</summary>
    public static async Task<bool> CanConnectAsync(Workload from, IPAddress to, int port, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(from);
        return (await ConnectAsync(from.Namespace, to, port, timeout)).IsOpen;
    }

    /// <summary>Like <see cref="CanConnectAsync(Workload, IPAddress, int, TimeSpan)"/> for a cluster workload.</summary>
    public static Task<bool> CanConnectAsync(ClusterWorkload from, IPAddress to, int port, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(from);
        return CanConnectAsync(from.Workload, to, port, timeout);
    }

    /// <summary>
    /// Attempts one connection from inside <paramref name="from"/> and closes it at once. Throws
    /// only for the caller's cancellation or when the namespace itself is unusable (a fixture fault,
    /// never reported as "closed").
    /// </summary>
    public static async Task<ProbeResult> ConnectAsync(NetNs from, IPAddress to, int port, TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            using var socket = await NamespaceSockets.ConnectAsync(from, new IPEndPoint(to, port), limit.Token);
            return new ProbeResult(ProbeOutcome.Connected);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ProbeResult(ProbeOutcome.TimedOut);
        }
        catch (SocketException e)
        {
            return Classify(e);
        }
    }

    private static ProbeResult Classify(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => new ProbeResult(ProbeOutcome.Refused),
        SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostDown or SocketError.NetworkDown =>
            new ProbeResult(ProbeOutcome.Unreachable, e.SocketErrorCode.ToString()),
        // The kernel's own give-up after its SYN retries: a DROP too, just observed the long way.
        SocketError.TimedOut => new ProbeResult(ProbeOutcome.TimedOut, e.SocketErrorCode.ToString()),
        _ => new ProbeResult(ProbeOutcome.Failed, $"{e.SocketErrorCode}: {e.Message}"),
    };
}
