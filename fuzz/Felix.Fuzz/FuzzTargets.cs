namespace Felix.Fuzz;

/// <summary>
/// One fuzz target: takes one input and checks what the code under test made of it. A broken
/// expectation throws <see cref="FuzzFindingException"/>; any other exception that escapes is a
/// finding as well, since each target catches exactly the rejections its code documents.
/// </summary>
public delegate void FuzzTarget(ReadOnlySpan<byte> input);

/// <summary>The targets by the name <c>scripts/fuzz.sh</c>, the corpus directories and the replay tests use.</summary>
public static class FuzzTargets
{
    public static IReadOnlyDictionary<string, FuzzTarget> All { get; } = new Dictionary<string, FuzzTarget>(StringComparer.Ordinal)
    {
        ["model"] = ModelTarget.Run,
        ["netlink"] = NetlinkTarget.Run,
    };

    /// <summary>Throws a <see cref="FuzzFindingException"/> naming <paramref name="what"/> when <paramref name="condition"/> does not hold.</summary>
    internal static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new FuzzFindingException(what);
        }
    }
}

/// <summary>An input made the code under test break one of the expectations its target checks.</summary>
public sealed class FuzzFindingException : Exception
{
    public FuzzFindingException()
    {
    }

    public FuzzFindingException(string message)
        : base(message)
    {
    }

    public FuzzFindingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
