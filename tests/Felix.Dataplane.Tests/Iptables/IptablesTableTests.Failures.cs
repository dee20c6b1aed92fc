using Felix.Dataplane.Iptables;
using Felix.Dataplane.Tests.Fakes;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Felix.Dataplane.Tests.Iptables;

public sealed partial class IptablesTableTests
{
    [Fact]
    public async Task A_refused_batch_is_retried_after_a_fresh_read_back()
    {
        var table = NewTable();
        Define(table);
        _fake.FailNext(3, "iptables-restore: line 3 failed", FakeIptablesTool.Restore);

        Assert.True(await table.ApplyAsync(CancellationToken.None));

        Assert.Equal(4, _fake.Calls.Count(c => c.Tool == FakeIptablesTool.Save));
        await AssertMatchesDefinitionAsync();
        Assert.Null(table.FailingSince);
        Assert.Equal(3, Counter("felix_iptables_restore_errors"));
    }

    [Fact]
    public async Task Ten_refusals_fail_the_apply_and_mark_the_table_failing()
    {
        var table = NewTable();
        Define(table);
        _fake.FailNext(10, "iptables-restore: line 2 failed", FakeIptablesTool.Restore);

        Assert.False(await table.ApplyAsync(CancellationToken.None));
        Assert.NotNull(table.FailingSince);
        Assert.Equal(10, Counter("felix_iptables_restore_errors"));

        Assert.True(await table.ApplyAsync(CancellationToken.None));
        Assert.Null(table.FailingSince);
    }

    [Fact]
    public async Task A_change_by_another_process_in_the_middle_of_an_apply_is_repaired_by_the_retry()
    {
        var table = await ProgramAsync(NewTable());
        var interfered = false;
        _fake.BeforeRestore = _ =>
        {
            if (!interfered)
            {
                // Between our read of the state and our write, someone empties the chain our batch edits by index.
                interfered = true;
                _fake.FlushChain(V4, Filter, "felix-a");
            }
        };

        table.SetChain(Chain("felix-a", Drop("cali1"), Drop("cali2"), Drop("cali3"), Drop("cali4")));
        Assert.True(await table.ApplyAsync(CancellationToken.None));
        table.RequestReadBack();
        Assert.True(await table.ApplyAsync(CancellationToken.None));

        Assert.Equal(4, _fake.Chain(V4, Filter, "felix-a")!.Count);
        Assert.Equal(Drop("cali4").Hash, RuleHash.Find(_fake.Chain(V4, Filter, "felix-a")![3]));
    }

    [Fact]
    public void The_lines_around_a_refused_line_are_quoted()
    {
        var batch = "*filter\n:felix-a - [0:0]\n-A felix-a -j DROP\n-A felix-a -j NOPE\n-A felix-a -j ACCEPT\nCOMMIT\n";

        var quoted = IptablesTable.QuoteAround(batch, "iptables-restore: line 4 failed");

        Assert.Equal(" 2: :felix-a - [0:0] |  3: -A felix-a -j DROP | >4: -A felix-a -j NOPE |  5: -A felix-a -j ACCEPT |  6: COMMIT", quoted);
    }

    private IptablesTable NewTable() =>
        new(TableName.Filter, new IptablesCommands(V4, IptablesBackendKind.Nft, 10), _fake,
            new IptablesMetrics(Metrics.WithCustomRegistry(_registry)), NullLogger.Instance,
            new IptablesTableOptions { InitialBackoff = TimeSpan.Zero, MaxBackoff = TimeSpan.Zero }, TimeProvider.System);

    /// <summary>The state most tests start from: felix-b jumps to felix-a, FORWARD hooks felix-b.</summary>
    private static void Define(IptablesTable table)
    {
        table.SetChain(Chain("felix-a", Drop("cali1"), Drop("cali2"), Drop("cali3")));
        table.SetChain(Chain("felix-b", Jump("felix-a")));
        table.SetHooks([new Hook("FORWARD", JumpRule("felix-b"))]);
    }

    private static async Task<IptablesTable> ProgramAsync(IptablesTable table)
    {
        Define(table);
        Assert.True(await table.ApplyAsync(CancellationToken.None));
        return table;
    }

    private async Task AssertMatchesDefinitionAsync()
    {
        var reference = new FakeIptables();
        var table = new IptablesTable(TableName.Filter, new IptablesCommands(V4, IptablesBackendKind.Nft, 10), reference,
            new IptablesMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry())), NullLogger.Instance,
            new IptablesTableOptions(), TimeProvider.System);
        await ProgramAsync(table);
        Assert.Equal(reference.Snapshot(V4, Filter), _fake.Snapshot(V4, Filter));
    }

    private List<string> ForeignLines() =>
        [.. _fake.Snapshot(V4, Filter, counters: true).Split('\n').Where(l => !l.Contains("felix", StringComparison.Ordinal) && !l.StartsWith('#'))];

    private double Counter(string name)
    {
        using var stream = new MemoryStream();
        _registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        var line = System.Text.Encoding.UTF8.GetString(stream.ToArray()).Split('\n').Single(l => l.StartsWith(name + "{", StringComparison.Ordinal));
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static List<string> BatchLines(string input) =>
        [.. input.Split('\n').Where(l => l.Length > 0 && l[0] != '*' && l != "COMMIT")];

    private static string Hashed(IptablesRule rule) => $"-m comment --comment \"felix:{rule.Hash}\" {rule.RenderBody()}";

    private static Chain Chain(string name, params IptablesRule[] rules) => new(name, rules);

    private static IptablesRule Drop(string iface) => new(MatchCriteria.Any.InInterface(iface), IptablesAction.Drop);

    private static IptablesRule Jump(string chain) => new(new JumpAction(chain));

    private static IptablesRule JumpRule(string chain) => new(new JumpAction(chain));
}
