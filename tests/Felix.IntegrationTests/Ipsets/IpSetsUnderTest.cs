using System.Globalization;
using System.Net;
using System.Text;
using Felix.Dataplane.Ipsets;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Iptables;
using Prometheus;

namespace Felix.IntegrationTests.Ipsets;

/// <summary>
/// One <see cref="IpSets"/> as the agent builds it, over a test namespace, with a metrics registry
/// and a log of its own: a test reads exactly this instance's counters, and a failed apply shows
/// what it logged. Every desired change goes through here so <see cref="Expected"/> always says
/// what the kernel should hold once applied.
/// </summary>
public sealed class IpSetsUnderTest
{
    /// <summary>No timed read-backs and no waiting between attempts: only the read-backs an apply needs or a test asks for.</summary>
    public static readonly IpSetsOptions Quick = new()
    {
        RefreshInterval = TimeSpan.Zero,
        InitialBackoff = TimeSpan.Zero,
        MaxBackoff = TimeSpan.Zero,
        MaxAttempts = 3,
    };

    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly RecordingLogger<IpSets> _log = new();
    private readonly SortedDictionary<string, (IpSetSpec Spec, HashSet<IPNetwork> Members)> _expected = new(StringComparer.Ordinal);

    public IpSetsUnderTest(NetNs netns, IpSetsOptions? options = null, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(netns);
        Netns = netns;
        Runner = new NamespacedCommandRunner(netns);
        Sets = new IpSets(Runner, new IpsetMetrics(Metrics.WithCustomRegistry(_registry)), _log, options ?? Quick, clock ?? TimeProvider.System);
    }

    public NetNs Netns { get; }

    public NamespacedCommandRunner Runner { get; }

    public IpSets Sets { get; }

    /// <summary>The desired sets, as given to <see cref="Sets"/>.</summary>
    public IReadOnlyDictionary<string, (IpSetSpec Spec, IReadOnlySet<IPNetwork> Members)> Expected =>
        _expected.ToDictionary(e => e.Key, e => (e.Value.Spec, (IReadOnlySet<IPNetwork>)e.Value.Members), StringComparer.Ordinal);

    public double Calls => Sample("felix_ipset_calls");

    public double Errors => Sample("felix_ipset_errors");

    public double LinesExecuted => Sample("felix_ipset_lines_executed");

    public double Total => Sample("felix_ipsets_total");

    public double Felix => Sample("felix_ipsets_felix");

    public double Oversized => Sample("felix_ipsets_oversized");

    /// <summary>The stdin of every <c>ipset restore</c> run so far, oldest first.</summary>
    public IReadOnlyList<string> Restores =>
        [.. Runner.Commands.Where(c => c.Arguments is ["restore"]).Select(c => c.StandardInput?.ToString() ?? string.Empty)];

    /// <summary>How many <c>ipset save</c> runs (read-backs) so far.</summary>
    public int Saves => Runner.Commands.Count(c => c.Arguments is ["save"]);

    public string Log => _log.ToString();

    public void Want(IpSetSpec spec, IEnumerable<IPNetwork> members)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var wanted = members.ToHashSet();
        Sets.AddOrReplaceSet(spec, wanted);
        _expected[spec.Name] = (spec, wanted);
    }

    public void WantAll(IReadOnlyDictionary<string, (IpSetSpec Spec, IReadOnlySet<IPNetwork> Members)> sets)
    {
        ArgumentNullException.ThrowIfNull(sets);
        foreach (var (spec, members) in sets.Values)
        {
            Want(spec, members);
        }
    }

    public void Add(string name, params IPNetwork[] members)
    {
        Sets.AddMembers(name, members);
        _expected[name].Members.UnionWith(members);
    }

    public void Remove(string name, params IPNetwork[] members)
    {
        Sets.RemoveMembers(name, members);
        _expected[name].Members.ExceptWith(members);
    }

    public void Drop(string name)
    {
        Sets.RemoveSet(name);
        _expected.Remove(name);
    }

    /// <summary>Runs <see cref="IpSets.ApplyUpdatesAsync"/> and fails the test with the log unless it succeeds; returns the lines it executed.</summary>
    public async Task<double> ApplyUpdatesAsync()
    {
        var before = LinesExecuted;
        var applied = await Sets.ApplyUpdatesAsync(CancellationToken.None);
        Assert.True(applied, $"ApplyUpdatesAsync in {Netns} failed; batches:\n{string.Join("\n---\n", Restores.Select(Excerpt))}\nlog:\n{Log}");
        return LinesExecuted - before;
    }

    /// <summary>Runs <see cref="IpSets.ApplyDeletionsAsync"/> and fails the test with the log unless it succeeds; returns the lines it executed.</summary>
    public async Task<double> ApplyDeletionsAsync()
    {
        var before = LinesExecuted;
        var applied = await Sets.ApplyDeletionsAsync(CancellationToken.None);
        Assert.True(applied, $"ApplyDeletionsAsync in {Netns} failed; batches:\n{string.Join("\n---\n", Restores.Select(Excerpt))}\nlog:\n{Log}");
        return LinesExecuted - before;
    }

    /// <summary>The felix sets in the kernel are exactly <see cref="Expected"/>.</summary>
    public Task AssertKernelAsync() => KernelIpsets.AssertFelixSetsAsync(Netns, Expected);

    private static string Excerpt(string batch) => batch.Length > 2000 ? batch[..2000] + "…" : batch;

    private double Sample(string name)
    {
        using var stream = new MemoryStream();
        _registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        // Unlabelled: the sample line is "name value"; before the first increment a labelled one has no line at all.
        var line = Encoding.UTF8.GetString(stream.ToArray()).Split('\n')
            .SingleOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal) || l.StartsWith(name + "{", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }
}
