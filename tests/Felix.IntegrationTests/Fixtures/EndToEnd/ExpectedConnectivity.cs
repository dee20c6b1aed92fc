using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Felix.IntegrationTests.Fixtures.EndToEnd;

/// <summary>One cell of a connectivity matrix: a TCP connection from one workload to another's port.</summary>
public readonly record struct Connection(string From, string To, int Port)
{
    public override string ToString() => $"{From} -> {To}:{Port.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>
/// Which connections should get through: for every source, every other destination and every
/// port, open or closed. A workload's connections to itself never leave its namespace, so those
/// cells are not part of any matrix.
/// </summary>
public sealed class ExpectedConnectivity
{
    private readonly Dictionary<Connection, bool> _open;

    private ExpectedConnectivity(IReadOnlyList<string> sources, IReadOnlyList<string> destinations, IReadOnlyList<int> ports,
        Dictionary<Connection, bool> open)
    {
        Sources = sources;
        Destinations = destinations;
        Ports = ports;
        _open = open;
    }

    public IReadOnlyList<string> Sources { get; }

    public IReadOnlyList<string> Destinations { get; }

    public IReadOnlyList<int> Ports { get; }

    /// <summary>The cells, source by source, destination by destination, port by port.</summary>
    public IEnumerable<Connection> Cells => ConnectivityTable.Cells(Sources, Destinations, Ports);

    public int Count => _open.Count;

    public bool IsOpen(Connection connection) =>
        _open.TryGetValue(connection, out var open)
            ? open
            : throw new KeyNotFoundException($"{connection} is not a cell of this matrix");

    /// <summary>Asks <paramref name="isOpen"/> about every cell (source ≠ destination).</summary>
    public static ExpectedConnectivity Build(IEnumerable<string> sources, IEnumerable<string> destinations, IEnumerable<int> ports,
        Func<Connection, bool> isOpen)
    {
        ArgumentNullException.ThrowIfNull(isOpen);
        List<string> from = [.. sources], to = [.. destinations];
        List<int> portList = [.. ports];
        var open = ConnectivityTable.Cells(from, to, portList).ToDictionary(cell => cell, isOpen);
        return new ExpectedConnectivity(from, to, portList, open);
    }

    /// <summary>The same matrix with <paramref name="change"/> deciding the cells it returns a value for.</summary>
    public ExpectedConnectivity With(Func<Connection, bool?> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return Build(Sources, Destinations, Ports, cell => change(cell) ?? _open[cell]);
    }

    /// <summary>A table with <c>open</c> and <c>-</c> (closed) per cell.</summary>
    public string Render(AddressFamily family = AddressFamily.InterNetwork) =>
        ConnectivityTable.Render($"expected {ConnectivityTable.FamilyName(family)}", Sources, Destinations, Ports,
            cell => IsOpen(cell) ? "open" : "-");

    public override string ToString() => Render();
}

/// <summary>The text layout shared by expected and probed matrices: one row per (source, destination), one column per port.</summary>
internal static class ConnectivityTable
{
    public static IEnumerable<Connection> Cells(IReadOnlyList<string> sources, IReadOnlyList<string> destinations, IReadOnlyList<int> ports) =>
        from source in sources
        from destination in destinations
        where source != destination
        from port in ports
        select new Connection(source, destination, port);

    public static string FamilyName(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4";

    public static string Render(string title, IReadOnlyList<string> sources, IReadOnlyList<string> destinations,
        IReadOnlyList<int> ports, Func<Connection, string> cell)
    {
        var rows = (from source in sources
                    from destination in destinations
                    where source != destination
                    select (Label: $"{source} -> {destination}", Cells: ports.Select(port => cell(new Connection(source, destination, port))).ToList()))
            .ToList();
        var labelWidth = rows.Select(row => row.Label.Length).Append(title.Length).Max();
        var widths = ports
            .Select((port, i) => rows.Select(row => row.Cells[i].Length).Append(port.ToString(CultureInfo.InvariantCulture).Length).Max())
            .ToList();

        var text = new StringBuilder();
        AppendRow(text, title, labelWidth, ports.Select(port => port.ToString(CultureInfo.InvariantCulture)).ToList(), widths);
        foreach (var (label, cells) in rows)
        {
            AppendRow(text, label, labelWidth, cells, widths);
        }

        return text.ToString();
    }

    private static void AppendRow(StringBuilder text, string label, int labelWidth, List<string> cells, List<int> widths)
    {
        var row = new StringBuilder(label.PadRight(labelWidth));
        for (var i = 0; i < cells.Count; i++)
        {
            row.Append("  ").Append(cells[i].PadRight(widths[i]));
        }

        // Padding on the last column would only be trailing blanks in an assertion message.
        text.Append(row.ToString().TrimEnd()).Append('\n');
    }
}
