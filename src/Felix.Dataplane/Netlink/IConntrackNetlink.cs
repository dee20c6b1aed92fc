using System.Net;

namespace Felix.Dataplane.Netlink;

/// <summary>
/// The seam through which the dataplane deletes conntrack entries in its own network namespace.
/// The real one is <see cref="ConntrackNetlink"/>; unit tests substitute a fake.
/// </summary>
public interface IConntrackNetlink : IDisposable
{
    /// <summary>
    /// Deletes every entry of the family's conntrack table that names one of
    /// <paramref name="addresses"/> as its original or reply source or destination: flows the
    /// address opened, flows to it, and flows NATed to or from it.
    /// </summary>
    /// <exception cref="NetlinkException">The table could not be listed, or the socket failed.</exception>
    ConntrackDeletion DeleteFlows(IpVersion family, IReadOnlyCollection<IPAddress> addresses);
}

/// <summary>
/// What a <see cref="IConntrackNetlink.DeleteFlows"/> did: entries deleted, entries the kernel
/// refused to delete (an entry that had gone already is not refused) and the first refusal.
/// </summary>
public sealed record ConntrackDeletion(int Deleted, int Refused, NetlinkError? FirstRefusal);
