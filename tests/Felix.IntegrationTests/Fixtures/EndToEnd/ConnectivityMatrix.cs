using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Felix.IntegrationTests.Fixtures.EndToEnd;

/// <summary>A cell whose probe disagrees with the expected matrix.</summary>
public sealed record Mismatch(Connection Connection, bool ExpectedOpen, ProbeResult Actual)
{
    public override string ToString() => $"{Connection}: expected {(ExpectedOpen ? "open" : "closed")}, got {Actual}";
}

/// <summary>How a matrix is probed: the timeout of each connection attempt and how many run at once.</summary>
public sealed record ProbeSettings(TimeSpan Timeout, int MaxConcurrency)
{
    /// <summary>
    /// 64 at once: a dropped cell holds its slot for the whole timeout, so the article's matrix
    /// (100 cells per family, about two thirds of them closed) takes two timeouts, not seventy.
    /// </summary>
    public static ProbeSettings Default { get; } = new(Probe.DefaultTimeout, 64);
}

/// <summary>
/// What TCP connections actually did between workloads, one family at a time: every (source,
/// destination, port) cell probed from inside the source's namespace to the destination's
/// address, in parallel with bounded concurrency. It renders as a table for assertion messages
/// and compares itself with an <see cref="ExpectedConnectivity"/>, listing the cells that differ.
/// </summary>
public sealed class ConnectivityMatrix
{
    private readonly Dictionary<Connection, ProbeResult> _results;

    /// <summary>A matrix from results already known (a test of the rendering, or a merge of probes).</summary>
    public ConnectivityMatrix(AddressFamily family, IReadOnlyList<string> sources, IReadOnlyList<string> destinations,
        IReadOnlyList<int> ports, IReadOnlyDictionary<Connection, ProbeResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        Family = family;
        Sources = sources;
        Destinations = destinations;
        Ports = ports;
        _results = new Dictionary<Connection, ProbeResult>(results);
        var missing = ConnectivityTable.Cells(sources, destinations, ports).Where(cell => !_results.ContainsKey(cell)).ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException($"no result for {string.Join(", ", missing.Take(5))}", nameof(results));
        }
    }

    public AddressFamily Family { get; }

    public IReadOnlyList<string> Sources { get; }

    public IReadOnlyList<string> Destinations { get; }

    public IReadOnlyList<int> Ports { get; }

    public IReadOnlyDictionary<Connection, ProbeResult> Results => _results;

    public ProbeResult this[Connection connection] => _results[connection];

    public bool IsOpen(string from, string to, int port) => _results[new Connection(from, to, port)].IsOpen;

    /// <summary>Probes every cell (source ≠ destination) over <paramref name="family"/>.</summary>
    public static Task<ConnectivityMatrix> ProbeAsync(IReadOnlyList<ClusterWorkload> sources, IReadOnlyList<ClusterWorkload> destinations,
        IReadOnlyList<int> ports, AddressFamily family, ProbeSettings? settings = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(destinations);
        var workloads = sources.Concat(destinations).DistinctBy(w => w.Name).ToList();
        List<string> from = [.. sources.Select(w => w.Name)], to = [.. destinations.Select(w => w.Name)];
        return ProbeCellsAsync(family, from, to, ports, ConnectivityTable.Cells(from, to, ports), workloads, new Dictionary<Connection, ProbeResult>(), settings, cancellationToken);
    }

    /// <summary>Probes exactly the cells of <paramref name="expected"/>; <paramref name="workloads"/> must include every workload it names.</summary>
    public static Task<ConnectivityMatrix> ProbeAsync(ExpectedConnectivity expected, IReadOnlyList<ClusterWorkload> workloads,
        AddressFamily family, ProbeSettings? settings = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(expected);
        return ProbeCellsAsync(family, expected.Sources, expected.Destinations, expected.Ports, expected.Cells, workloads, new Dictionary<Connection, ProbeResult>(), settings, cancellationToken);
    }

    /// <summary>
    /// For a dataplane still converging: probes the matrix, then up to <paramref name="maxAttempts"/>
    /// − 1 more times only the cells that still differ, <paramref name="pause"/> apart. Once they all
    /// agree it probes the whole matrix once more and returns that, so the answer never mixes
    /// stale and fresh cells; else it returns the last state seen. Bounded in attempts, and each
    /// attempt in time by the probe timeout.
    /// </summary>
    public static async Task<ConnectivityMatrix> WaitUntilMatchesAsync(ExpectedConnectivity expected, IReadOnlyList<ClusterWorkload> workloads,
        AddressFamily family, int maxAttempts = 10, TimeSpan? pause = null, ProbeSettings? settings = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        var matrix = await ProbeAsync(expected, workloads, family, settings, cancellationToken);
        var reprobed = false;
        for (var attempt = 1; attempt < maxAttempts && !matrix.Matches(expected); attempt++)
        {
            await Task.Delay(pause ?? TimeSpan.FromMilliseconds(500), cancellationToken);
            var differing = matrix.Compare(expected).Select(m => m.Connection).ToList();
            matrix = await ProbeCellsAsync(family, expected.Sources, expected.Destinations, expected.Ports, differing, workloads,
                matrix._results, settings, cancellationToken);
            reprobed = true;
        }

        return reprobed && matrix.Matches(expected)
            ? await ProbeAsync(expected, workloads, family, settings, cancellationToken)
            : matrix;
    }

    /// <summary>The cells whose result disagrees with <paramref name="expected"/>, in table order.</summary>
    public IReadOnlyList<Mismatch> Compare(ExpectedConnectivity expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var mismatches = new List<Mismatch>();
        foreach (var cell in expected.Cells)
        {
            if (!_results.TryGetValue(cell, out var actual))
            {
                throw new ArgumentException($"{cell} was not probed", nameof(expected));
            }

            if (actual.IsOpen != expected.IsOpen(cell))
            {
                mismatches.Add(new Mismatch(cell, expected.IsOpen(cell), actual));
            }
        }

        return mismatches;
    }

    public bool Matches(ExpectedConnectivity expected) => Compare(expected).Count == 0;

    /// <summary>
    /// Empty when the matrix matches; else the differing cells one per line, then the expected
    /// table and the probed one with the differing cells marked <c>*</c>.
    /// </summary>
    public string DescribeDifferences(ExpectedConnectivity expected)
    {
        var mismatches = Compare(expected);
        if (mismatches.Count == 0)
        {
            return string.Empty;
        }

        var differing = mismatches.Select(m => m.Connection).ToHashSet();
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"{mismatches.Count} of {expected.Count} {ConnectivityTable.FamilyName(Family)} connections differ from the expected matrix:\n");
        foreach (var mismatch in mismatches)
        {
            text.Append("  ").Append(mismatch).Append('\n');
        }

        text.Append('\n').Append(expected.Render(Family));
        text.Append('\n').Append(Render(cell => differing.Contains(cell) ? _results[cell].Code + "*" : _results[cell].Code));
        return text.ToString();
    }

    /// <summary>The probed table: <c>open</c>, <c>rst</c> (refused), <c>drop</c> (timed out), <c>unr</c> (unreachable), <c>err</c>.</summary>
    public string Render() => Render(cell => _results[cell].Code);

    public override string ToString() => Render();

    private string Render(Func<Connection, string> cell) =>
        ConnectivityTable.Render($"probed {ConnectivityTable.FamilyName(Family)}", Sources, Destinations, Ports, cell);

    private static async Task<ConnectivityMatrix> ProbeCellsAsync(AddressFamily family, IReadOnlyList<string> sources,
        IReadOnlyList<string> destinations, IReadOnlyList<int> ports, IEnumerable<Connection> cells,
        IReadOnlyList<ClusterWorkload> workloads, IReadOnlyDictionary<Connection, ProbeResult> known, ProbeSettings? settings,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workloads);
        settings ??= ProbeSettings.Default;
        var byName = workloads.ToDictionary(w => w.Name);
        ClusterWorkload Find(string name) =>
            byName.TryGetValue(name, out var workload) ? workload : throw new ArgumentException($"no workload named {name}", nameof(workloads));

        using var slots = new SemaphoreSlim(settings.MaxConcurrency);
        async Task<(Connection, ProbeResult)> ProbeOneAsync(Connection cell)
        {
            var (source, destination) = (Find(cell.From), Find(cell.To));
            await slots.WaitAsync(cancellationToken);
            try
            {
                var result = await Probe.ConnectAsync(source.Namespace, destination.AddressOf(family), cell.Port, settings.Timeout, cancellationToken);
                return (cell, result);
            }
            finally
            {
                slots.Release();
            }
        }

        var probed = await Task.WhenAll(cells.Select(ProbeOneAsync).ToList());
        var results = new Dictionary<Connection, ProbeResult>(known);
        foreach (var (cell, result) in probed)
        {
            results[cell] = result;
        }

        return new ConnectivityMatrix(family, sources, destinations, ports, results);
    }
}
