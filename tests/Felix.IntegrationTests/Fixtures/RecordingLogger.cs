using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>Keeps what a component logged, with exceptions, so a failing test can show it.</summary>
public sealed class RecordingLogger<T> : ILogger<T>
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _lines.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel}: {formatter(state, exception)}{(exception is null ? "" : " | " + exception)}");

    public override string ToString() => string.Join('\n', _lines);
}
