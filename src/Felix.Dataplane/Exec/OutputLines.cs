using System.Buffers;

namespace Felix.Dataplane.Exec;

/// <summary>
/// Takes a program's stdout a line at a time, as it is read. At 10k endpoints an
/// <c>iptables-save</c> of the filter table is ~30M characters; read whole it was held twice (the
/// reader's builder, then the string) while it was parsed. A reader of lines keeps only what it
/// needs from each.
/// </summary>
public interface IOutputLines
{
    /// <summary>
    /// One line without its <c>\n</c>; valid only during the call. Must not throw: a reader that
    /// finds the output malformed records that and says so when asked for its result.
    /// </summary>
    void Line(ReadOnlySpan<char> line);
}

/// <summary>Splits text into the lines an <see cref="IOutputLines"/> takes: on <c>\n</c>, with no empty line after a final one.</summary>
public static class OutputLines
{
    private const int InitialBuffer = 64 * 1024;

    /// <summary>Gives each line of <paramref name="text"/> to <paramref name="lines"/>.</summary>
    public static void Feed(ReadOnlySpan<char> text, IOutputLines lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        while (!text.IsEmpty)
        {
            var end = text.IndexOf('\n');
            if (end < 0)
            {
                lines.Line(text);
                return;
            }
            lines.Line(text[..end]);
            text = text[(end + 1)..];
        }
    }

    /// <summary>
    /// Reads <paramref name="reader"/> to its end, giving each line to <paramref name="lines"/>.
    /// Holds one buffer, grown only for a line longer than it.
    /// </summary>
    public static async Task ReadAsync(TextReader reader, IOutputLines lines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(lines);
        var buffer = ArrayPool<char>.Shared.Rent(InitialBuffer);
        var filled = 0;
        try
        {
            while (true)
            {
                if (filled == buffer.Length)
                {
                    var larger = ArrayPool<char>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<char>.Shared.Return(buffer);
                    buffer = larger;
                }
                var read = await reader.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    Feed(buffer.AsSpan(0, filled), lines);
                    return;
                }
                var complete = buffer.AsSpan(0, filled + read).LastIndexOf('\n') + 1;
                if (complete > 0)
                {
                    Feed(buffer.AsSpan(0, complete), lines);
                    buffer.AsSpan(complete, filled + read - complete).CopyTo(buffer);
                    filled = filled + read - complete;
                }
                else
                {
                    filled += read;
                }
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }
}
