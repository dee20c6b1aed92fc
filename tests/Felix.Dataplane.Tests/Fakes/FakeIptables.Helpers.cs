namespace Felix.Dataplane.Tests.Fakes;

/// <summary>The state helpers of <see cref="Default"/>, so most tests need not name a backend.</summary>
public sealed partial class FakeIptables
{
    /// <inheritdoc cref="FakeIptablesState.Chain"/>
    public IReadOnlyList<string>? Chain(IpVersion family, string table, string chain) => Default.Chain(family, table, chain);

    /// <inheritdoc cref="FakeIptablesState.ChainNames"/>
    public IReadOnlyList<string> ChainNames(IpVersion family, string table) => Default.ChainNames(family, table);

    /// <inheritdoc cref="FakeIptablesState.Policy"/>
    public string? Policy(IpVersion family, string table, string chain) => Default.Policy(family, table, chain);

    public bool TableExists(IpVersion family, string table) => Default.TableExists(family, table);

    public void CreateChain(IpVersion family, string table, string chain) => Default.CreateChain(family, table, chain);

    public void AppendRule(IpVersion family, string table, string chain, string spec) => Default.AppendRule(family, table, chain, spec);

    /// <inheritdoc cref="FakeIptablesState.InsertRule"/>
    public void InsertRule(IpVersion family, string table, string chain, int position, string spec) =>
        Default.InsertRule(family, table, chain, position, spec);

    public void DeleteRule(IpVersion family, string table, string chain, int position) => Default.DeleteRule(family, table, chain, position);

    public void FlushChain(IpVersion family, string table, string chain) => Default.FlushChain(family, table, chain);

    /// <inheritdoc cref="FakeIptablesState.DeleteChain"/>
    public void DeleteChain(IpVersion family, string table, string chain) => Default.DeleteChain(family, table, chain);

    /// <inheritdoc cref="FakeIptablesState.SetCounters"/>
    public void SetCounters(IpVersion family, string table, string chain, string counters) => Default.SetCounters(family, table, chain, counters);

    /// <inheritdoc cref="FakeIptablesState.SetRuleCounters"/>
    public void SetRuleCounters(IpVersion family, string table, string chain, int position, string counters) =>
        Default.SetRuleCounters(family, table, chain, position, counters);

    /// <inheritdoc cref="FakeIptablesState.Snapshot"/>
    public string Snapshot(IpVersion family, string table, bool counters = false) => Default.Snapshot(family, table, counters);
}
