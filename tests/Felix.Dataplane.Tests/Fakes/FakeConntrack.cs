using System.Net;
using System.Net.Sockets;
using Felix.Dataplane.Netlink;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// A semantic fake of the kernel's conntrack table behind <see cref="IConntrackNetlink"/>: a flush
/// deletes every flow of the family one of whose four addresses is flushed, as the real one does
/// from its listing. Tests can make the listing fail (a socket error) or the kernel refuse some
/// deletes, which then stay in the table.
/// </summary>
public sealed class FakeConntrack : IConntrackNetlink
{
    private readonly Lock _gate = new();
    private readonly List<ConntrackFlow> _flows = [];
    private readonly List<(IpVersion Family, IReadOnlyList<IPAddress> Addresses)> _calls = [];
    private int _refusals;

    /// <summary>When set, every flush throws as a failed socket would, deleting nothing.</summary>
    public string? Failure { get; set; }

    /// <summary>Runs at each flush, before it is looked at, with its family and addresses (a test's timeline).</summary>
    public Action<IpVersion, IReadOnlyCollection<IPAddress>>? OnFlush { get; set; }

    /// <summary>Every flush, in order: its family and the addresses it was asked for.</summary>
    public IReadOnlyList<(IpVersion Family, IReadOnlyList<IPAddress> Addresses)> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    public IReadOnlyList<ConntrackFlow> Flows
    {
        get
        {
            lock (_gate)
            {
                return [.. _flows];
            }
        }
    }

    /// <summary>A flow from <paramref name="source"/> to <paramref name="destination"/>; the reply direction is NATed when given.</summary>
    public void AddFlow(IPAddress source, IPAddress destination, IPAddress? replySource = null, IPAddress? replyDestination = null, string tag = "")
    {
        lock (_gate)
        {
            _flows.Add(new ConntrackFlow(source, destination, replySource ?? destination, replyDestination ?? source, tag));
        }
    }

    /// <summary>The kernel refuses to delete the next <paramref name="count"/> matching flows (EBUSY); they stay.</summary>
    public void RefuseNext(int count)
    {
        lock (_gate)
        {
            _refusals = count;
        }
    }

    public ConntrackDeletion DeleteFlows(IpVersion family, IReadOnlyCollection<IPAddress> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        OnFlush?.Invoke(family, addresses);
        lock (_gate)
        {
            _calls.Add((family, [.. addresses]));
            if (Failure is { } failure)
            {
                throw new NetlinkException(failure);
            }
            var addressFamily = family == IpVersion.V4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
            var flushed = addresses.ToHashSet();
            var (deleted, refused) = (0, 0);
            foreach (var flow in _flows.Where(f => f.OrigSource.AddressFamily == addressFamily && f.Addresses.Any(flushed.Contains)).ToList())
            {
                if (_refusals > 0)
                {
                    _refusals--;
                    refused++;
                    continue;
                }
                _flows.Remove(flow);
                deleted++;
            }
            return new ConntrackDeletion(deleted, refused, refused > 0 ? new NetlinkError(16, "EBUSY", null) : null);
        }
    }

    public void Dispose()
    {
    }
}

/// <summary>A conntrack entry: its original and reply tuples' addresses, and a test's label.</summary>
public sealed record ConntrackFlow(IPAddress OrigSource, IPAddress OrigDestination, IPAddress ReplySource, IPAddress ReplyDestination, string Tag)
{
    public IEnumerable<IPAddress> Addresses => [OrigSource, OrigDestination, ReplySource, ReplyDestination];
}
