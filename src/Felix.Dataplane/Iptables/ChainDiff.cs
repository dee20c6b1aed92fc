namespace Felix.Dataplane.Iptables;

public enum ChainEditKind
{
    Delete,
    Insert,
    Replace,
}

/// <summary>
/// One step of turning a programmed chain into the desired one. <see cref="Position"/> is 1-based
/// and valid at the moment the step runs, after the steps before it; <see cref="Desired"/> indexes
/// the desired rule to write (unused for a delete).
/// </summary>
public readonly record struct ChainEdit(ChainEditKind Kind, int Position, int Desired);

/// <summary>
/// The fewest steps from the programmed rules of a chain to the desired ones, compared by hash.
/// Common leading and trailing rules are skipped first — the usual change touches one spot of a
/// long chain — and the rest is aligned by longest common subsequence, so an insertion near the top
/// is one insert, not a rewrite of every rule below it. A programmed rule without a hash (someone
/// else's) never matches, so it is always deleted from a chain we own.
/// </summary>
public static class ChainDiff
{
    /// <summary>Beyond this many cells the alignment table costs more than it saves; replace in place instead.</summary>
    private const long MaxAlignmentCells = 4_000_000;

    public static List<ChainEdit> Compute(IReadOnlyList<string?> programmed, IReadOnlyList<string> desired)
    {
        var prefix = 0;
        while (prefix < programmed.Count && prefix < desired.Count && programmed[prefix] == desired[prefix])
        {
            prefix++;
        }
        var suffix = 0;
        while (suffix < programmed.Count - prefix && suffix < desired.Count - prefix
               && programmed[programmed.Count - 1 - suffix] == desired[desired.Count - 1 - suffix])
        {
            suffix++;
        }
        var oldCount = programmed.Count - prefix - suffix;
        var newCount = desired.Count - prefix - suffix;
        var steps = (long)oldCount * newCount <= MaxAlignmentCells
            ? Align(programmed, desired, prefix, oldCount, newCount)
            : InPlace(oldCount, newCount);
        return ToEdits(steps, prefix);
    }

    private enum Step
    {
        Keep,
        Delete,
        Insert,
    }

    private static List<Step> Align(IReadOnlyList<string?> programmed, IReadOnlyList<string> desired, int offset, int oldCount, int newCount)
    {
        // lengths[i, j]: longest common subsequence of programmed[i..] and desired[j..] (middle part only).
        var lengths = new int[oldCount + 1, newCount + 1];
        for (var i = oldCount - 1; i >= 0; i--)
        {
            for (var j = newCount - 1; j >= 0; j--)
            {
                lengths[i, j] = programmed[offset + i] is { } hash && hash == desired[offset + j]
                    ? lengths[i + 1, j + 1] + 1
                    : Math.Max(lengths[i + 1, j], lengths[i, j + 1]);
            }
        }
        var steps = new List<Step>(oldCount + newCount);
        var (a, b) = (0, 0);
        while (a < oldCount || b < newCount)
        {
            if (a < oldCount && b < newCount && programmed[offset + a] is { } hash && hash == desired[offset + b])
            {
                steps.Add(Step.Keep);
                (a, b) = (a + 1, b + 1);
            }
            else if (a < oldCount && (b == newCount || lengths[a + 1, b] >= lengths[a, b + 1]))
            {
                // Deleting first on a tie puts a delete before its insert, which then become one replace.
                steps.Add(Step.Delete);
                a++;
            }
            else
            {
                steps.Add(Step.Insert);
                b++;
            }
        }
        return steps;
    }

    private static List<Step> InPlace(int oldCount, int newCount)
    {
        var steps = new List<Step>(Math.Max(oldCount, newCount) * 2);
        for (var i = 0; i < Math.Min(oldCount, newCount); i++)
        {
            steps.Add(Step.Delete);
            steps.Add(Step.Insert);
        }
        steps.AddRange(Enumerable.Repeat(Step.Delete, Math.Max(0, oldCount - newCount)));
        steps.AddRange(Enumerable.Repeat(Step.Insert, Math.Max(0, newCount - oldCount)));
        return steps;
    }

    /// <summary>
    /// Positions follow the chain as it changes. A run of deletes directly followed by a run of
    /// inserts becomes replaces, pairwise, so rewriting four rules in place is four lines, not eight.
    /// </summary>
    private static List<ChainEdit> ToEdits(List<Step> steps, int prefix)
    {
        var edits = new List<ChainEdit>();
        var position = prefix + 1;
        var desired = prefix;
        var i = 0;
        while (i < steps.Count)
        {
            if (steps[i] == Step.Keep)
            {
                (position, desired, i) = (position + 1, desired + 1, i + 1);
                continue;
            }
            var deletes = Run(steps, i, Step.Delete);
            var inserts = Run(steps, i + deletes, Step.Insert);
            i += deletes + inserts;
            for (var r = 0; r < Math.Min(deletes, inserts); r++)
            {
                edits.Add(new ChainEdit(ChainEditKind.Replace, position, desired));
                (position, desired) = (position + 1, desired + 1);
            }
            for (var d = inserts; d < deletes; d++)
            {
                edits.Add(new ChainEdit(ChainEditKind.Delete, position, -1));
            }
            for (var n = deletes; n < inserts; n++)
            {
                edits.Add(new ChainEdit(ChainEditKind.Insert, position, desired));
                (position, desired) = (position + 1, desired + 1);
            }
        }
        return edits;
    }

    private static int Run(List<Step> steps, int start, Step kind)
    {
        var end = start;
        while (end < steps.Count && steps[end] == kind)
        {
            end++;
        }
        return end - start;
    }
}
