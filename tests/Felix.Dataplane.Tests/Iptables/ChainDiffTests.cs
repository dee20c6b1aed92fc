using Felix.Dataplane.Iptables;

namespace Felix.Dataplane.Tests.Iptables;

public class ChainDiffTests
{
    [Fact]
    public void Identical_chains_need_no_edit() =>
        Assert.Empty(ChainDiff.Compute(["a", "b", "c"], ["a", "b", "c"]));

    [Fact]
    public void One_changed_rule_is_one_replace_at_its_position() =>
        Assert.Equal([new ChainEdit(ChainEditKind.Replace, 3, 2)], ChainDiff.Compute(["a", "b", "c", "d"], ["a", "b", "x", "d"]));

    [Fact]
    public void One_rule_inserted_near_the_top_is_one_insert() =>
        Assert.Equal([new ChainEdit(ChainEditKind.Insert, 2, 1)], ChainDiff.Compute(["a", "b", "c", "d", "e"], ["a", "x", "b", "c", "d", "e"]));

    [Fact]
    public void Several_rules_rewritten_in_place_are_as_many_replaces() =>
        Assert.Equal(
            [new ChainEdit(ChainEditKind.Replace, 2, 1), new ChainEdit(ChainEditKind.Replace, 3, 2), new ChainEdit(ChainEditKind.Insert, 4, 3)],
            ChainDiff.Compute(["a", "b", "c", "z"], ["a", "x", "y", "w", "z"]));

    [Fact]
    public void One_rule_removed_is_one_delete() =>
        Assert.Equal([new ChainEdit(ChainEditKind.Delete, 2, -1)], ChainDiff.Compute(["a", "b", "c"], ["a", "c"]));

    [Fact]
    public void A_rule_that_is_not_ours_is_deleted_even_between_ours() =>
        Assert.Equal([new ChainEdit(ChainEditKind.Delete, 2, -1)], ChainDiff.Compute(["a", null, "b"], ["a", "b"]));

    [Fact]
    public void Appending_is_an_insert_past_the_end() =>
        Assert.Equal([new ChainEdit(ChainEditKind.Insert, 3, 2)], ChainDiff.Compute(["a", "b"], ["a", "b", "c"]));

    [Fact]
    public void Duplicate_rules_are_matched_without_confusion() =>
        Assert.All(ChainDiff.Compute(["m", "r", "m", "r"], ["m", "r", "m", "r", "m", "r"]), e => Assert.Equal(ChainEditKind.Insert, e.Kind));

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Applying_the_edits_always_gives_the_desired_chain(int seed)
    {
        var random = new Random(seed);
        for (var round = 0; round < 2000; round++)
        {
            var programmed = Enumerable.Range(0, random.Next(0, 12)).Select(_ => random.Next(6) == 0 ? null : "r" + random.Next(5)).ToList();
            var desired = Enumerable.Range(0, random.Next(0, 12)).Select(_ => "r" + random.Next(5)).ToList();

            var edits = ChainDiff.Compute(programmed, desired);

            Assert.Equal<string?>(desired, Apply(programmed, edits, desired));
            // Every rule outside a longest common subsequence is touched once (a replace touches two).
            var common = CommonSubsequenceLength(programmed, desired);
            Assert.InRange(edits.Count, Math.Max(programmed.Count, desired.Count) - common, programmed.Count + desired.Count - (2 * common));
            Assert.DoesNotContain(edits.Zip(edits.Skip(1)), pair =>
                pair.First.Kind == ChainEditKind.Delete && pair.Second.Kind == ChainEditKind.Insert && pair.First.Position == pair.Second.Position);
        }
    }

    [Fact]
    public void A_huge_change_falls_back_to_replacing_in_place()
    {
        var programmed = Enumerable.Range(0, 3000).Select(i => (string?)$"old{i}").ToList();
        var desired = Enumerable.Range(0, 2500).Select(i => $"new{i}").ToList();

        var edits = ChainDiff.Compute(programmed, desired);

        Assert.Equal<string?>(desired, Apply(programmed, edits, desired));
        Assert.Equal(3000, edits.Count);
    }

    private static int CommonSubsequenceLength(List<string?> a, List<string> b)
    {
        var lengths = new int[a.Count + 1, b.Count + 1];
        for (var i = 1; i <= a.Count; i++)
        {
            for (var j = 1; j <= b.Count; j++)
            {
                lengths[i, j] = a[i - 1] is not null && a[i - 1] == b[j - 1]
                    ? lengths[i - 1, j - 1] + 1
                    : Math.Max(lengths[i - 1, j], lengths[i, j - 1]);
            }
        }
        return lengths[a.Count, b.Count];
    }

    private static List<string?> Apply(List<string?> programmed, List<ChainEdit> edits, List<string> desired)
    {
        var chain = new List<string?>(programmed);
        foreach (var edit in edits)
        {
            switch (edit.Kind)
            {
                case ChainEditKind.Delete:
                    chain.RemoveAt(edit.Position - 1);
                    break;
                case ChainEditKind.Insert:
                    chain.Insert(edit.Position - 1, desired[edit.Desired]);
                    break;
                case ChainEditKind.Replace:
                    chain[edit.Position - 1] = desired[edit.Desired];
                    break;
            }
        }
        return chain;
    }
}
