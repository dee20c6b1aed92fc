namespace Felix.Dataplane.Collections;

/// <summary>
/// Sets of work in progress (keys to recompute, destinations to write) swell to the whole
/// datastore once, at start: 110k keys at 100k endpoints. A plain <c>Clear</c> keeps their arrays,
/// ~3 MB per set, for the rest of the agent's life; these give a large set's arrays back.
/// </summary>
public static class WorkSets
{
    /// <summary>Up to this capacity a set keeps its arrays: steady-state batches reuse them.</summary>
    public const int RetainedCapacity = 4096;

    /// <summary>Empties the set, and gives its arrays back if they had grown past <see cref="RetainedCapacity"/>.</summary>
    public static void ClearAndShrink<T>(this HashSet<T> set)
    {
        ArgumentNullException.ThrowIfNull(set);
        set.Clear();
        ShrinkIfEmpty(set);
    }

    /// <summary>Gives the arrays of an empty set back if they had grown past <see cref="RetainedCapacity"/>.</summary>
    public static void ShrinkIfEmpty<T>(this HashSet<T> set)
    {
        ArgumentNullException.ThrowIfNull(set);
        if (set.Count == 0 && set.Capacity > RetainedCapacity)
        {
            set.TrimExcess();
        }
    }
}
