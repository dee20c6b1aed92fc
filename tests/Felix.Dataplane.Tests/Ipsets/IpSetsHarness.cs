using System.Globalization;
using System.Text;
using Felix.Dataplane.Ipsets;
using Felix.Dataplane.Tests.Fakes;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Felix.Dataplane.Tests.Ipsets;

/// <summary>Managers over one fake kernel, with their metrics, log and a clock the test moves.</summary>
internal sealed class IpSetsHarness(FakeIpset fake)
{
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();

    public static readonly IpSetsOptions Options = new()
    {
        InitialBackoff = TimeSpan.Zero,
        MaxBackoff = TimeSpan.Zero,
        RefreshInterval = TimeSpan.FromSeconds(90),
        InUseRetry = TimeSpan.FromSeconds(10),
    };

    public ManualClock Clock { get; } = new();

    public ListLogger Log { get; } = new();

    public double LinesAfterProgram { get; set; }

    public IpSets NewSets(IpSetsOptions? options = null) =>
        new(fake, new IpsetMetrics(Metrics.WithCustomRegistry(_registry)), Log, options ?? Options, Clock);

    /// <summary>The value of an unlabelled metric as <c>/metrics</c> shows it.</summary>
    public double Counter(string name)
    {
        using var stream = new MemoryStream();
        _registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        var line = Encoding.UTF8.GetString(stream.ToArray()).Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }
}

/// <summary>A clock that moves only when the test says so.</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => _ticks;

    public void Advance(TimeSpan by) => _ticks += by.Ticks;
}

/// <summary>Keeps every log line, for tests that check an operator would be told.</summary>
internal sealed class ListLogger : ILogger
{
    private readonly List<(LogLevel Level, string Message)> _entries = [];

    public IReadOnlyList<(LogLevel Level, string Message)> Entries => _entries;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        _entries.Add((logLevel, formatter(state, exception)));
    }
}
