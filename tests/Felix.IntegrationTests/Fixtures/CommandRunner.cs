using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// Runs external commands (ip, etcd helpers, ping, kill) for the integration fixtures: no shell,
/// arguments passed one by one, stdin closed (or fed a given text, then closed), stdout/stderr
/// captured, and every run bounded by a timeout after which the whole process tree is killed, so a
/// hung tool can never hang a test run.
/// </summary>
public static class CommandRunner
{
    /// <summary>The bound used when a caller gives none.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    // After a kill, how long to wait for the output pipes to close. A grandchild that escaped
    // the process tree could hold them open forever; its output is then reported as lost.
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Runs the command and returns what it did; never throws for a non-zero exit.</summary>
    public static Task<CommandResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default) =>
        RunCoreAsync(fileName, arguments, standardInput: null, timeout, cancellationToken);

    /// <summary>
    /// Like <see cref="RunAsync"/>, with <paramref name="standardInput"/> written to the command's
    /// stdin (UTF-8, no BOM) and stdin closed after it, as <c>iptables-restore</c> reads its script.
    /// </summary>
    public static Task<CommandResult> RunWithInputAsync(
        string fileName,
        IEnumerable<string> arguments,
        string standardInput,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(standardInput);
        return RunCoreAsync(fileName, arguments, standardInput, timeout, cancellationToken);
    }

    private static async Task<CommandResult> RunCoreAsync(
        string fileName,
        IEnumerable<string> arguments,
        string? standardInput,
        TimeSpan? timeout,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        var args = arguments.ToArray();
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = standardInput is null ? null : new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
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

        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        // Written while stdout and stderr are being read, so a tool that answers before it has read
        // all its input cannot deadlock against a full pipe.
        var stdin = WriteAndCloseAsync(process.StandardInput, standardInput);

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

        await AwaitInputAsync(stdin);
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

    private static async Task WriteAndCloseAsync(StreamWriter input, string? text)
    {
        try
        {
            if (text is not null)
            {
                await input.WriteAsync(text);
                await input.FlushAsync();
            }
        }
        catch (IOException)
        {
            // The command exited (or was killed) without reading all of its input: a broken pipe,
            // which its exit code and stderr report better than this exception would.
        }
        finally
        {
            CloseQuietly(input);
        }
    }

    // Closing flushes what a broken pipe left buffered, which throws again; the pipe is closed anyway.
    private static void CloseQuietly(StreamWriter input)
    {
        try
        {
            input.Close();
        }
        catch (IOException)
        {
        }
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

    // A descendant that inherited stdin and never reads it could leave the write blocked on a full
    // pipe after the command itself is gone; its input no longer matters then.
    private static async Task AwaitInputAsync(Task writer)
    {
        try
        {
            await writer.WaitAsync(DrainTimeout);
        }
        catch (TimeoutException)
        {
        }
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
