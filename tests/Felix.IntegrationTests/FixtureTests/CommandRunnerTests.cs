using System.Globalization;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.FixtureTests;

/// <summary>
/// Proves the command helper captures output and exit codes, reports failures with the command
/// and stderr, and kills what overruns its timeout, since every other fixture builds on it.
/// </summary>
public sealed class CommandRunnerTests
{
    [Fact]
    public async Task Captures_stdout_stderr_and_exit_code_without_a_shell()
    {
        var result = await CommandRunner.RunAsync("sh", ["-c", "echo out; echo err >&2; exit 3", "$not-expanded"]);

        Assert.Equal(3, result.ExitCode);
        Assert.False(result.TimedOut);
        Assert.False(result.Succeeded);
        Assert.Equal("out\n", result.StandardOutput);
        Assert.Equal("err\n", result.StandardError);
    }

    [Fact]
    public async Task Arguments_are_passed_verbatim()
    {
        var result = await CommandRunner.RunCheckedAsync("printf", ["%s|", "a b", "$HOME", "'q'"]);

        Assert.Equal("a b|$HOME|'q'|", result.StandardOutput);
    }

    [Fact]
    public async Task Checked_run_names_command_exit_code_and_stderr()
    {
        var error = await Assert.ThrowsAsync<CommandFailedException>(
            () => CommandRunner.RunCheckedAsync("sh", ["-c", "echo broken-thing >&2; exit 7"]));

        Assert.Contains("sh -c", error.Message, StringComparison.Ordinal);
        Assert.Contains("exited with code 7", error.Message, StringComparison.Ordinal);
        Assert.Contains("broken-thing", error.Message, StringComparison.Ordinal);
        Assert.Equal(7, error.Result!.ExitCode);
    }

    [Fact]
    public async Task Timeout_kills_the_whole_process_tree()
    {
        var pidFile = Path.Combine(Path.GetTempPath(), $"felix-it-{Guid.NewGuid():N}.pid");
        try
        {
            var result = await CommandRunner.RunAsync(
                "sh",
                ["-c", $"sleep 60 & echo $! > {pidFile}; wait"],
                TimeSpan.FromMilliseconds(500));

            Assert.True(result.TimedOut);
            Assert.False(result.Succeeded);
            var childPid = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), CultureInfo.InvariantCulture);
            Assert.True(
                await ProcessProbe.WaitUntilDeadAsync(childPid, TimeSpan.FromSeconds(5)),
                $"child sleep {childPid} survived the timeout kill");
        }
        finally
        {
            File.Delete(pidFile);
        }
    }

    [Fact]
    public async Task Input_is_fed_to_stdin_whole_and_then_closed()
    {
        // Bigger than a pipe buffer (64 KiB), so the writer must keep going while the reader reads.
        var input = string.Concat(Enumerable.Range(0, 20_000).Select(i => $"line {i}\n"));

        var result = await CommandRunner.RunWithInputAsync("sh", ["-c", "wc -l"], input);

        Assert.True(result.Succeeded, result.StandardError);
        Assert.Equal("20000", result.StandardOutput.Trim());
    }

    [Fact]
    public async Task Command_that_ignores_its_input_still_reports_its_exit()
    {
        var input = new string('x', 1 << 20);

        var result = await CommandRunner.RunWithInputAsync("sh", ["-c", "echo early >&2; exit 4"], input);

        Assert.Equal(4, result.ExitCode);
        Assert.Equal("early\n", result.StandardError);
    }

    [Fact]
    public async Task Missing_executable_fails_with_its_name()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => CommandRunner.RunAsync("/nonexistent/felix-no-such-tool", []));

        Assert.Contains("felix-no-such-tool", error.Message, StringComparison.Ordinal);
    }
}
