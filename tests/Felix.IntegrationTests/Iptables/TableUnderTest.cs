using System.Globalization;
using System.Text;
using Felix.Dataplane.Iptables;
using Felix.IntegrationTests.Fixtures;
using Prometheus;

namespace Felix.IntegrationTests.Iptables;

/// <summary>
/// One <see cref="IptablesTable"/> as the agent builds it, with a metrics registry and a log of
/// its own, so a test reads exactly this table's counters and a failed apply shows the refused
/// batch and the tool's error the table logged.
/// </summary>
public sealed class TableUnderTest
{
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly RecordingLogger<IptablesTable> _log = new();

    public TableUnderTest(TableName table, IptablesCommands commands, NamespacedCommandRunner runner, IptablesTableOptions options)
    {
        Table = new IptablesTable(table, commands, runner, new IptablesMetrics(Metrics.WithCustomRegistry(_registry)), _log,
            options, TimeProvider.System);
    }

    public IptablesTable Table { get; }

    public double RestoreCalls => Counter("felix_iptables_restore_calls");

    public double RestoreErrors => Counter("felix_iptables_restore_errors");

    public double SaveCalls => Counter("felix_iptables_save_calls");

    public double LinesExecuted => Counter("felix_iptables_lines_executed");

    public string Log => _log.ToString();

    /// <summary>Every chain and the hooks of the rendered <paramref name="chains"/>, as the agent's first apply feeds them.</summary>
    public void SetAll(IEnumerable<Chain> chains, IEnumerable<Hook> hooks)
    {
        foreach (var chain in chains)
        {
            Table.SetChain(chain);
        }
        Table.SetHooks(hooks);
    }

    /// <summary>Applies and fails the test with the table's log when the apply does not succeed.</summary>
    public async Task ApplyAsync()
    {
        var applied = await Table.ApplyAsync(CancellationToken.None);
        Assert.True(applied, $"the {Table.Table.ToRestoreName()} table (IPv{(int)Table.Version}) was not applied; its log:\n{Log}");
    }

    private double Counter(string name)
    {
        using var stream = new MemoryStream();
        _registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        // Before the first increment a labelled counter has no sample at all: that is zero.
        var line = Encoding.UTF8.GetString(stream.ToArray()).Split('\n')
            .SingleOrDefault(l => l.StartsWith(name + "{", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }
}
