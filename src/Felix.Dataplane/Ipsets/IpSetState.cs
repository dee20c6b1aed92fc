using System.Net;

namespace Felix.Dataplane.Ipsets;

/// <summary>
/// One set name, wanted or programmed or both. The kernel's members are never stored: while the
/// set exists they are <c>(Members − PendingAdd) ∪ PendingDelete</c>, so a set in step costs one
/// copy of its members and a member change is one hash operation here and one line to the kernel.
/// </summary>
internal sealed class IpSetState(string name)
{
    public string Name { get; } = name;

    /// <summary>What the set must be; null when nothing wants it any more.</summary>
    public IpSetSpec? Spec { get; set; }

    /// <summary>The desired members.</summary>
    public HashSet<IPNetwork> Members { get; } = [];

    /// <summary>Desired members the kernel does not hold.</summary>
    public HashSet<IPNetwork> PendingAdd { get; } = [];

    /// <summary>Members the kernel holds that are not desired.</summary>
    public HashSet<IPNetwork> PendingDelete { get; } = [];

    /// <summary>What the kernel holds under this name; null when there is no such set.</summary>
    public IpSetMetadata? Kernel { get; set; }

    /// <summary>Deltas cannot be trusted (one failed, or the kernel's members are unknown): build it anew and swap.</summary>
    public bool NeedsRewrite { get; set; }

    /// <summary>Too many members: left as it is until it shrinks.</summary>
    public bool Oversized { get; set; }

    /// <summary>The kernel refused to destroy it because something uses it; not tried again before this timestamp.</summary>
    public long BlockedUntil { get; set; }

    /// <summary>The kernel holds the set as wanted (type, family, size), so members can be added and deleted in place.</summary>
    public bool HeldAsWanted => Spec is { } spec && Kernel is { } kernel && kernel.Matches(spec) && !NeedsRewrite;

    public bool InStep => HeldAsWanted && PendingAdd.Count == 0 && PendingDelete.Count == 0;

    /// <summary>
    /// Without a set in the kernel there is nothing to patch: it is built whole, and whatever makes
    /// <see cref="Kernel"/> non-null (a write, a read-back) sets the pending members afresh.
    /// </summary>
    private bool TracksDeltas => Kernel is not null;

    public void AddMember(IPNetwork member)
    {
        if (Members.Add(member) && TracksDeltas && !PendingDelete.Remove(member))
        {
            PendingAdd.Add(member);
        }
    }

    public void RemoveMember(IPNetwork member)
    {
        if (Members.Remove(member) && TracksDeltas && !PendingAdd.Remove(member))
        {
            PendingDelete.Add(member);
        }
    }

    /// <summary>Recomputes the pending members from what the kernel was read to hold.</summary>
    public void Reconcile(IpSetMetadata? kernel, HashSet<IPNetwork> kernelMembers)
    {
        Kernel = kernel;
        ClearPending();
        if (Spec is null)
        {
            // Unwanted: it is destroyed whatever it holds, so its members need no copy; wanted again, it is rebuilt.
            NeedsRewrite = true;
            return;
        }
        if (kernel is null)
        {
            return;
        }
        foreach (var member in Members.Where(m => !kernelMembers.Contains(m)))
        {
            PendingAdd.Add(member);
        }
        foreach (var member in kernelMembers.Where(m => !Members.Contains(m)))
        {
            PendingDelete.Add(member);
        }
    }

    /// <summary>After a successful write the kernel holds exactly the desired set.</summary>
    public void MarkWritten(IpSetSpec spec)
    {
        Kernel = IpSetMetadata.Of(spec);
        ClearPending();
        NeedsRewrite = false;
    }

    /// <summary>Empties the pending members, and lets go of the room a large rewrite or repair left in them.</summary>
    public void ClearPending()
    {
        const int Keep = 1024;
        PendingAdd.Clear();
        PendingDelete.Clear();
        if (PendingAdd.Capacity > Keep)
        {
            PendingAdd.TrimExcess();
        }
        if (PendingDelete.Capacity > Keep)
        {
            PendingDelete.TrimExcess();
        }
    }
}
