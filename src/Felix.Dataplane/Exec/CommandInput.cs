using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Felix.Dataplane.Exec;

/// <summary>
/// What a program reads on stdin, kept in the pieces it was built in. A cold-start
/// <c>iptables-restore</c> input at 10k endpoints is ~30M characters: joined into one string it
/// was copied twice more (the builder's text, then header + text + COMMIT), ~180 MB of transient
/// large objects that set the agent's peak memory. Pieces are written to the pipe one after the
/// other instead; a <see cref="StringBuilder"/>'s pieces are its own chunks, so nothing is copied.
/// The builders must not change once given here.
/// </summary>
public sealed class CommandInput
{
    private readonly ReadOnlyMemory<char>[] _chunks;

    private CommandInput(ReadOnlyMemory<char>[] chunks)
    {
        _chunks = chunks;
        Length = chunks.Sum(c => (long)c.Length);
    }

    /// <summary>Characters in all pieces.</summary>
    public long Length { get; }

    /// <summary>The pieces in order, as they are to be written.</summary>
    public IReadOnlyList<ReadOnlyMemory<char>> Chunks => _chunks;

    [return: NotNullIfNotNull(nameof(text))]
    public static implicit operator CommandInput?(string? text) => text is null ? null : FromText(text);

    public static CommandInput FromText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new([text.AsMemory()]);
    }

    /// <summary><paramref name="prefix"/>, the text of <paramref name="body"/> (not copied), then <paramref name="suffix"/>.</summary>
    public static CommandInput Wrap(string prefix, StringBuilder body, string suffix)
    {
        ArgumentNullException.ThrowIfNull(body);
        var chunks = new List<ReadOnlyMemory<char>> { prefix.AsMemory() };
        foreach (var chunk in body.GetChunks())
        {
            chunks.Add(chunk);
        }
        chunks.Add(suffix.AsMemory());
        return new([.. chunks]);
    }

    /// <summary>The whole input as one string: for tests, fakes and the lines quoted when a batch is refused.</summary>
    public override string ToString()
    {
        var text = new StringBuilder(checked((int)Length));
        foreach (var chunk in _chunks)
        {
            text.Append(chunk.Span);
        }
        return text.ToString();
    }
}
