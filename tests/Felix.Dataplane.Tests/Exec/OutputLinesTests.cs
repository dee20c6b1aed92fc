using System.Text;
using Felix.Dataplane.Exec;

namespace Felix.Dataplane.Tests.Exec;

public class OutputLinesTests
{
    [Theory]
    [InlineData("", new string[0])]
    [InlineData("a", new[] { "a" })]
    [InlineData("a\n", new[] { "a" })]
    [InlineData("a\nb", new[] { "a", "b" })]
    [InlineData("a\n\nb\n", new[] { "a", "", "b" })]
    [InlineData("\n", new[] { "" })]
    [InlineData("a\r\nb\r\n", new[] { "a\r", "b\r" })]
    public void Text_is_split_on_newlines_with_no_empty_line_after_the_last(string text, string[] expected)
    {
        var lines = new LineList();
        OutputLines.Feed(text, lines);
        Assert.Equal(expected, lines);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    public async Task Reading_gives_the_same_lines_whatever_the_reads_return(int readSize)
    {
        // Lines straddle reads, and one is longer than the reader's first buffer.
        var text = new StringBuilder();
        for (var i = 0; i < 2000; i++)
        {
            text.Append("-A felix-").Append(i).Append(" -j DROP\n");
        }
        text.Append('x', 200_000).Append('\n').Append("last without newline");
        var expected = new LineList();
        OutputLines.Feed(text.ToString(), expected);
        var lines = new LineList();

        await OutputLines.ReadAsync(new TrickleReader(text.ToString(), readSize), lines, CancellationToken.None);

        Assert.Equal(expected.Count, lines.Count);
        Assert.Equal(expected, lines);
        Assert.Equal(200_000, lines[^2].Length);
    }

    [Fact]
    public void Input_pieces_keep_their_order_and_the_builder_is_not_copied_until_asked()
    {
        var body = new StringBuilder().Append('x', 20_000).Append('\n');
        var input = CommandInput.Wrap("head\n", body, "COMMIT\n");

        Assert.True(input.Chunks.Count > 3, "a 20k-character builder is written in its own chunks");
        Assert.Equal(5 + 20_001 + 7, input.Length);
        Assert.Equal("head\n" + new string('x', 20_000) + "\nCOMMIT\n", input.ToString());
        Assert.Equal("plain", ((CommandInput)"plain").ToString());
    }

    private sealed class LineList : List<string>, IOutputLines
    {
        public void Line(ReadOnlySpan<char> line) => Add(line.ToString());
    }

    /// <summary>Returns at most a few characters per read, as a pipe may.</summary>
    private sealed class TrickleReader(string text, int readSize) : TextReader
    {
        private int _at;

        public override int Read(char[] buffer, int index, int count)
        {
            var n = Math.Min(Math.Min(count, readSize), text.Length - _at);
            text.CopyTo(_at, buffer, index, n);
            _at += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<char> buffer, CancellationToken cancellationToken = default)
        {
            var n = Math.Min(Math.Min(buffer.Length, readSize), text.Length - _at);
            text.AsSpan(_at, n).CopyTo(buffer.Span);
            _at += n;
            return ValueTask.FromResult(n);
        }
    }
}
