using Felix.Dataplane.Iptables;
using Felix.Dataplane.Tests.Fakes;
using Felix.Dataplane.Tests.Ipsets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Felix.Dataplane.Tests.Iptables;

public sealed partial class IptablesTableTests
{
    private readonly ManualClock _clock = new();

    [Fact]
    public async Task After_a_write_read_backs_come_at_growing_intervals_then_every_refresh_interval()
    {
        var table = ClockedTable(refresh: TimeSpan.FromSeconds(10));
        Define(table);
        await table.ApplyAsync(CancellationToken.None);
        var saves = Saves();

        var times = new List<double>();
        for (var second = 1; second <= 40; second++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            await table.ApplyAsync(CancellationToken.None);
            if (Saves() > saves)
            {
                (saves, times) = (Saves(), [.. times, second]);
            }
        }

        Assert.Equal([1, 3, 7, 15, 25, 35], times);
    }

    [Fact]
    public async Task A_due_read_back_waits_while_there_is_a_change_to_write()
    {
        var table = ClockedTable(refresh: TimeSpan.FromSeconds(10));
        Define(table);
        await table.ApplyAsync(CancellationToken.None);
        var saves = Saves();

        _clock.Advance(TimeSpan.FromSeconds(5));
        table.SetChain(Chain("felix-a", Drop("cali1")));
        await table.ApplyAsync(CancellationToken.None);

        Assert.Equal(saves, Saves());
        Assert.Single(_fake.Chain(V4, Filter, "felix-a")!);
    }

    [Fact]
    public async Task A_read_back_overdue_by_a_refresh_interval_goes_first_even_under_churn()
    {
        var table = ClockedTable(refresh: TimeSpan.FromSeconds(10));
        Define(table);
        await table.ApplyAsync(CancellationToken.None);
        var saves = Saves();

        _clock.Advance(TimeSpan.FromSeconds(12));
        table.SetChain(Chain("felix-a", Drop("cali1")));
        await table.ApplyAsync(CancellationToken.None);

        Assert.Equal(saves + 1, Saves());
    }

    [Fact]
    public async Task Drift_is_logged_as_a_warning_naming_the_chains_and_the_hooks_someone_changed()
    {
        var log = new ListLogger();
        var table = await ProgramAsync(LoggedTable(log));
        _fake.DeleteRule(V4, Filter, "felix-a", 1);
        _fake.DeleteRule(V4, Filter, "FORWARD", 1);

        table.RequestReadBack();
        await table.ApplyAsync(CancellationToken.None);

        Assert.Contains(log.Entries, e => e.Level == LogLevel.Warning
            && e.Message == "iptables filter (IPv4): read-back found 1 felix chains changed by someone else (felix-a); hooks moved or missing in: FORWARD; repairing");
    }

    [Fact]
    public async Task Drift_in_many_chains_names_the_first_ten_and_counts_the_rest()
    {
        var log = new ListLogger();
        var table = LoggedTable(log);
        var names = Enumerable.Range(0, 12).Select(i => $"felix-c{i:D2}").ToList();
        foreach (var name in names)
        {
            table.SetChain(Chain(name, Drop("cali1")));
        }
        Assert.True(await table.ApplyAsync(CancellationToken.None));
        foreach (var name in names)
        {
            _fake.DeleteRule(V4, Filter, name, 1);
        }

        table.RequestReadBack();
        await table.ApplyAsync(CancellationToken.None);

        var warning = Assert.Single(log.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains($"found 12 felix chains changed by someone else ({string.Join(", ", names.Take(10))} and 2 more); hooks moved or missing in: none;",
            warning.Message, StringComparison.Ordinal);
    }

    private IptablesTable LoggedTable(ILogger log) =>
        new(TableName.Filter, new IptablesCommands(V4, IptablesBackendKind.Nft, 10), _fake,
            new IptablesMetrics(Metrics.WithCustomRegistry(_registry)), log,
            new IptablesTableOptions { InitialBackoff = TimeSpan.Zero, MaxBackoff = TimeSpan.Zero }, TimeProvider.System);

    private int Saves() => _fake.Calls.Count(c => c.Tool == FakeIptablesTool.Save);

    private IptablesTable ClockedTable(TimeSpan refresh) =>
        new(TableName.Filter, new IptablesCommands(V4, IptablesBackendKind.Nft, 10), _fake,
            new IptablesMetrics(Metrics.WithCustomRegistry(_registry)), NullLogger.Instance,
            new IptablesTableOptions { InitialBackoff = TimeSpan.Zero, MaxBackoff = TimeSpan.Zero, RefreshInterval = refresh }, _clock);

    /// <summary>A clock that moves only when the test says so.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
