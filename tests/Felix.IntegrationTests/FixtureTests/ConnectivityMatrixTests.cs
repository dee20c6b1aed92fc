using System.Net.Sockets;
using Felix.IntegrationTests.Fixtures.EndToEnd;

namespace Felix.IntegrationTests.FixtureTests;

/// <summary>
/// The matrix's rendering and comparison, on results given directly (no probing), so what an
/// end-to-end test prints when it fails is fixed here: one row per (source, destination), one
/// column per port, the differing cells listed and marked.
/// </summary>
public sealed class ConnectivityMatrixTests
{
    private static readonly string[] Names = ["web1", "db1", "app1"];
    private static readonly int[] Ports = [80, 3306];

    [Fact]
    public void Expected_matrix_renders_open_and_closed_without_self_rows()
    {
        var expected = ExpectedConnectivity.Build(Names, Names, Ports, cell => cell.To == "web1" || (cell.From, cell.To, cell.Port) == ("app1", "db1", 3306));

        Assert.Equal(
            """
            expected IPv4  80    3306
            web1 -> db1    -     -
            web1 -> app1   -     -
            db1 -> web1    open  open
            db1 -> app1    -     -
            app1 -> web1   open  open
            app1 -> db1    -     open

            """.ReplaceLineEndings("\n"),
            expected.Render());
        Assert.Equal(6 * 2, expected.Count);
        Assert.Throws<KeyNotFoundException>(() => expected.IsOpen(new Connection("db1", "db1", 80)));
    }

    [Fact]
    public void Probed_matrix_renders_each_outcome()
    {
        var matrix = Matrix(cell => (cell.From, cell.To) switch
        {
            ("web1", "db1") => new ProbeResult(ProbeOutcome.TimedOut),
            ("web1", "app1") => new ProbeResult(ProbeOutcome.Refused),
            ("db1", _) => new ProbeResult(ProbeOutcome.Unreachable, "HostUnreachable"),
            ("app1", "web1") => new ProbeResult(ProbeOutcome.Failed, "AccessDenied"),
            _ => new ProbeResult(ProbeOutcome.Connected),
        });

        Assert.Equal(
            """
            probed IPv6   80    3306
            web1 -> db1   drop  drop
            web1 -> app1  rst   rst
            db1 -> web1   unr   unr
            db1 -> app1   unr   unr
            app1 -> web1  err   err
            app1 -> db1   open  open

            """.ReplaceLineEndings("\n"),
            matrix.Render());
        Assert.True(matrix.IsOpen("app1", "db1", 3306));
        Assert.False(matrix.IsOpen("web1", "db1", 80));
        Assert.Equal("unr (HostUnreachable)", matrix[new Connection("db1", "web1", 80)].ToString());
    }

    [Fact]
    public void Differences_are_listed_then_both_tables_with_the_differing_cells_marked()
    {
        var expected = ExpectedConnectivity.Build(Names, Names, Ports, cell => cell.Port == 80);
        var matrix = Matrix(cell => cell switch
        {
            { From: "app1", To: "db1", Port: 80 } => new ProbeResult(ProbeOutcome.TimedOut),
            { From: "web1", To: "app1", Port: 3306 } => new ProbeResult(ProbeOutcome.Connected),
            { Port: 80 } => new ProbeResult(ProbeOutcome.Connected),
            _ => new ProbeResult(ProbeOutcome.Refused),
        });

        var mismatches = matrix.Compare(expected);
        var description = matrix.DescribeDifferences(expected);

        Assert.Equal(
            [
                new Mismatch(new Connection("web1", "app1", 3306), ExpectedOpen: false, new ProbeResult(ProbeOutcome.Connected)),
                new Mismatch(new Connection("app1", "db1", 80), ExpectedOpen: true, new ProbeResult(ProbeOutcome.TimedOut)),
            ],
            mismatches);
        Assert.False(matrix.Matches(expected));
        Assert.StartsWith(
            """
            2 of 12 IPv6 connections differ from the expected matrix:
              web1 -> app1:3306: expected closed, got open
              app1 -> db1:80: expected open, got drop

            expected IPv6
            """.ReplaceLineEndings("\n"),
            description,
            StringComparison.Ordinal);
        Assert.Contains("web1 -> app1  open   open*\n", description, StringComparison.Ordinal);
        Assert.Contains("app1 -> db1   drop*  rst\n", description, StringComparison.Ordinal);
    }

    [Fact]
    public void A_matching_matrix_has_no_differences_and_With_changes_only_the_cells_it_names()
    {
        var expected = ExpectedConnectivity.Build(Names, Names, Ports, cell => cell.To == "app1");
        var matrix = Matrix(cell => new ProbeResult(cell.To == "app1" ? ProbeOutcome.Connected : ProbeOutcome.TimedOut));

        var closedDb = expected.With(cell => cell.To == "db1" ? true : null);

        Assert.True(matrix.Matches(expected));
        Assert.Equal(string.Empty, matrix.DescribeDifferences(expected));
        Assert.Equal(4, matrix.Compare(closedDb).Count);
        Assert.All(matrix.Compare(closedDb), m => Assert.Equal("db1", m.Connection.To));
    }

    [Fact]
    public void A_matrix_must_hold_a_result_for_every_cell()
    {
        var partial = new Dictionary<Connection, ProbeResult> { [new Connection("web1", "db1", 80)] = new(ProbeOutcome.Connected) };

        var error = Assert.Throws<ArgumentException>(() => new ConnectivityMatrix(AddressFamily.InterNetwork, Names, Names, Ports, partial));

        Assert.Contains("web1 -> db1:3306", error.Message, StringComparison.Ordinal);
    }

    private static ConnectivityMatrix Matrix(Func<Connection, ProbeResult> result)
    {
        var expected = ExpectedConnectivity.Build(Names, Names, Ports, _ => false);
        return new ConnectivityMatrix(AddressFamily.InterNetworkV6, Names, Names, Ports, expected.Cells.ToDictionary(cell => cell, result));
    }
}
