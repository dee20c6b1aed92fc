namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// Keeps the last lines a background process wrote, thread-safe, so a fixture can put the tail
/// of (for example) etcd's log into a failure message without writing log files that outlive it.
/// </summary>
public sealed class LogBuffer
{
    private readonly Queue<string> _lines = new();
    private readonly Lock _gate = new();
    private readonly int _capacity;

    public LogBuffer(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    /// <summary>Adds one line, dropping the oldest when full.</summary>
    public void Append(string line)
    {
        lock (_gate)
        {
            if (_lines.Count == _capacity)
            {
                _lines.Dequeue();
            }

            _lines.Enqueue(line);
        }
    }

    /// <summary>The last <paramref name="count"/> lines, oldest first, one per line.</summary>
    public string Tail(int count)
    {
        lock (_gate)
        {
            return string.Join(Environment.NewLine, _lines.Skip(Math.Max(0, _lines.Count - count)));
        }
    }

    /// <summary>Whether any kept line contains <paramref name="text"/> (ordinal).</summary>
    public bool Contains(string text)
    {
        lock (_gate)
        {
            return _lines.Any(line => line.Contains(text, StringComparison.Ordinal));
        }
    }
}
