using System.Globalization;

namespace Felix.Bench;

/// <summary>
/// The end-to-end results as one Markdown table per scenario (what docs/PERFORMANCE.md holds): each
/// row one size of one backend, the agent's figure next to its floor and their ratio, the agent's
/// peak RSS during the scenario, the 1-minute load average when it was measured (two shared cores:
/// a loaded machine moves every figure), and the target with its verdict, or a dash where the
/// issue sets none for that row (and in quick mode, which has no thresholds).
/// </summary>
internal sealed class E2eReport(string backend)
{
    public static readonly string[] Scenarios =
    [
        "cold start → ready", "restart over programmed state → ready", "endpoint add", "endpoint remove",
        "tag member change", "profile rule change", "sustained churn", "route read-back (agent's metric)", "peak RSS (all scenarios)",
    ];

    private readonly List<(string Scenario, string Row)> _rows = [];

    public sealed record Cells(string Agent, string Floor, string Ratio, double PeakRss, string Target);

    public void Add(string scenario, string local, int cluster, Cells cells)
    {
        _rows.Add((scenario, $"| {local} | {cluster} | {cells.Agent} | {cells.Floor} | {cells.Ratio} | {(double.IsNaN(cells.PeakRss) ? "—" : $"{cells.PeakRss:0} MB")} | {LoadAverage()} | {cells.Target} |"));
        // Also as it happens, so a long run shows progress and a failed one keeps what it had.
        Console.WriteLine($"  {scenario}: {_rows[^1].Row}");
    }

    public void Print()
    {
        foreach (var scenario in Scenarios)
        {
            Console.WriteLine();
            Console.WriteLine($"#### {scenario} ({backend})");
            Console.WriteLine();
            Console.WriteLine("| local | cluster | agent | floor | ratio | peak RSS | load | target |");
            Console.WriteLine("| ---: | ---: | --- | --- | ---: | ---: | ---: | --- |");
            foreach (var (_, row) in _rows.Where(r => r.Scenario == scenario))
            {
                Console.WriteLine(row);
            }
        }
    }

    public static string Verdict(bool targets, bool met, string target) => !targets ? "—" : $"{target}: {(met ? "**met**" : "**missed**")}";

    public static string Millis(double millis) => millis >= 10_000
        ? string.Create(CultureInfo.InvariantCulture, $"{millis / 1000:0.0} s")
        : string.Create(CultureInfo.InvariantCulture, $"{millis:0.0} ms");

    public static string Ratio(double agent, double floor) => floor > 0 ? string.Create(CultureInfo.InvariantCulture, $"{agent / floor:0.00}") : "—";

    public static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    public static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    public static double Percentile(List<double> values, int percentile)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1)];
    }
}
