using System.Diagnostics;
using System.Globalization;
using System.Text;
using Felix.Dataplane.Exec;

namespace Felix.Dataplane.Tests.Exec;

/// <summary>The real process runner against ordinary programs (no root needed).</summary>
public class ProcessCommandRunnerTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);
    private readonly ProcessCommandRunner _runner = new(TimeProvider.System);

    [Fact]
    public async Task Large_input_and_output_flow_without_deadlock()
    {
        // Far more than a pipe buffer (64 KiB) in both directions at once.
        var input = string.Concat(Enumerable.Range(0, 100_000).Select(i => $"-A felix-to-{i:x11} -j DROP\n"));

        var result = await _runner.RunAsync(new Command("cat", [], input, Generous), CancellationToken.None);

        Assert.True(result.Succeeded);
        Assert.Equal(input, result.StandardOutput);
    }

    [Fact]
    public async Task Input_in_pieces_and_output_by_lines_flow_without_deadlock()
    {
        // A builder of this size has many chunks; each is written as it is, and each line comes back whole.
        var body = new StringBuilder();
        for (var i = 0; i < 100_000; i++)
        {
            body.Append("-A felix-to-").Append(i.ToString("x11", CultureInfo.InvariantCulture)).Append(" -j DROP\n");
        }
        var lines = new LineList();

        var result = await _runner.RunAsync(
            new Command("cat", [], CommandInput.Wrap("*filter\n", body, "COMMIT"), Generous, lines), CancellationToken.None);

        Assert.True(result.Succeeded);
        Assert.Equal(string.Empty, result.StandardOutput);
        Assert.Equal(100_002, lines.Count);
        Assert.Equal("*filter", lines[0]);
        Assert.Equal("-A felix-to-0000001869f -j DROP", lines[^2]);
        Assert.Equal("COMMIT", lines[^1]);
    }

    [Fact]
    public async Task Exit_code_and_stderr_are_returned_not_thrown()
    {
        var result = await _runner.RunAsync(
            new Command("sh", ["-c", "echo 'line 3: bad rule' >&2; exit 4"], null, Generous), CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.Equal(4, result.ExitCode);
        Assert.Equal("line 3: bad rule\n", result.StandardError);
    }

    [Fact]
    public async Task Arguments_are_never_reparsed_by_a_shell()
    {
        var result = await _runner.RunAsync(
            new Command("printf", ["%s|", "a b", "$(id)", "; rm -rf /"], null, Generous), CancellationToken.None);

        Assert.Equal("a b|$(id)|; rm -rf /|", result.StandardOutput);
    }

    [Fact]
    public async Task Programs_run_in_the_C_locale()
    {
        var result = await _runner.RunAsync(new Command("sh", ["-c", "echo $LC_ALL"], null, Generous), CancellationToken.None);
        Assert.Equal("C\n", result.StandardOutput);
    }

    [Fact]
    public async Task A_missing_program_is_a_command_exception_naming_it()
    {
        var error = await Assert.ThrowsAsync<CommandException>(() =>
            _runner.RunAsync(new Command("/nonexistent/iptables-restore", [], null, Generous), CancellationToken.None));
        Assert.Contains("/nonexistent/iptables-restore", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_program_past_its_timeout_is_killed_with_its_children()
    {
        var pidFile = Path.GetTempFileName();
        try
        {
            var command = new Command("sh", ["-c", $"sleep 60 & echo $! > {pidFile}; wait"], null, TimeSpan.FromMilliseconds(500));

            var error = await Assert.ThrowsAsync<CommandException>(() => _runner.RunAsync(command, CancellationToken.None));

            Assert.Contains("did not finish within 0.5 s", error.Message, StringComparison.Ordinal);
            AssertExited(int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture));
        }
        finally
        {
            File.Delete(pidFile);
        }
    }

    [Fact]
    public async Task Cancellation_kills_the_program_and_is_reported_as_cancellation()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            _runner.RunAsync(new Command("sleep", ["60"], null, Generous), cancel.Token));
    }

    private static void AssertExited(int pid)
    {
        try
        {
            using var child = Process.GetProcessById(pid);
            // A zombie awaiting its reaper has exited too; anything else is still running.
            Assert.True(child.HasExited || File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2] == "Z",
                $"child {pid} still running");
        }
        catch (ArgumentException)
        {
            // No such process: it is gone.
        }
    }

    private sealed class LineList : List<string>, IOutputLines
    {
        public void Line(ReadOnlySpan<char> line) => Add(line.ToString());
    }
}
