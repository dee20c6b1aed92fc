using Felix.Dataplane.Collections;

namespace Felix.Dataplane.Tests.Collections;

public class WorkSetsTests
{
    [Fact]
    public void A_set_that_swelled_gives_its_arrays_back_when_cleared()
    {
        var set = new HashSet<int>(Enumerable.Range(0, 110_000));

        set.ClearAndShrink();

        Assert.Empty(set);
        Assert.True(set.Capacity <= WorkSets.RetainedCapacity, $"capacity {set.Capacity} after clearing 110k entries");
    }

    [Fact]
    public void A_small_set_keeps_its_arrays_for_the_next_batch()
    {
        var set = new HashSet<int>(Enumerable.Range(0, 100));
        var capacity = set.Capacity;

        set.ClearAndShrink();

        Assert.Equal(capacity, set.Capacity);
    }

    [Fact]
    public void A_set_still_holding_work_is_not_shrunk()
    {
        var set = new HashSet<int>(Enumerable.Range(0, 110_000));
        set.RemoveWhere(i => i > 0);
        var capacity = set.Capacity;

        set.ShrinkIfEmpty();
        Assert.Equal(capacity, set.Capacity);

        set.Remove(0);
        set.ShrinkIfEmpty();
        Assert.True(set.Capacity <= WorkSets.RetainedCapacity);
    }
}
