using System.ComponentModel;
using System.Diagnostics;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// Runs external commands (ip, etcd helpers, ping, kill) for the integration fixtures: no shell,
/// arguments passed one by one, stdin closed, stdout/stderr captured, and every run bounded by a
/// timeout after which the whole process tree is killed, so a hung tool can never hang a test run.
/// </summary>
public static class CommandRunner
{
    /// <summary>The bound used when a caller gives none.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    // After a kill, how long to wait for the output pipes to close. A grandchild that escaped
    // the process tree could hold them open forever; its output is then reported as lost.
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Runs the command and returns what it did; never throws for a non-zero exit.</summary>
    public static async Task<CommandResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        var args = arguments.ToArray();
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in args)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"Cannot start `{fileName}`: {e.Message}", e);
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);

        var timedOut = false;
        using (var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            limit.CancelAfter(timeout ?? DefaultTimeout);
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                await KillTreeAsync(process);
                cancellationToken.ThrowIfCancellationRequested();
                timedOut = true;
            }
        }

        return new CommandResult(
            fileName,
            args,
            process.ExitCode,
            timedOut,
            await DrainAsync(stdout),
            await DrainAsync(stderr));
    }

    /// <summary>Runs the command and throws <see cref="CommandFailedException"/> unless it exits 0.</summary>
    public static async Task<CommandResult> RunCheckedAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(fileName, arguments, timeout, cancellationToken);
        return result.EnsureSuccess();
    }

    private static async Task KillTreeAsync(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited between the timeout and the kill: nothing left to kill.
        }

        using var reap = new CancellationTokenSource(DrainTimeout);
        await process.WaitForExitAsync(reap.Token);
    }

    private static async Task<string> DrainAsync(Task<string> reader)
    {
        try
        {
            return await reader.WaitAsync(DrainTimeout);
        }
        catch (TimeoutException)
        {
            return "<output lost: a descendant process kept the pipe open>";
        }
    }
}
