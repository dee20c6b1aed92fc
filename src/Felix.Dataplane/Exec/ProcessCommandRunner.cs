using System.ComponentModel;
using System.Diagnostics;

namespace Felix.Dataplane.Exec;

/// <summary>
/// Runs programs with <see cref="Process"/>. Stdin is written while stdout and stderr are read, so
/// a 70k-line <c>iptables-restore</c> input cannot deadlock against a full output pipe. Programs
/// run with <c>LC_ALL=C</c> so their output parses the same on every host. Large inputs are written
/// and large outputs read in pieces (<see cref="CommandInput"/>, <see cref="Command.OutputLines"/>). On timeout or
/// cancellation the whole process tree is killed before the call returns.
/// </summary>
public sealed class ProcessCommandRunner : ICommandRunner
{
    private readonly TimeProvider _clock;

    public ProcessCommandRunner(TimeProvider clock)
    {
        _clock = clock;
    }

    public async Task<CommandResult> RunAsync(Command command, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(command.FileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in command.Arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["LC_ALL"] = "C";

        using var process = new Process { StartInfo = start };
        var began = _clock.GetTimestamp();
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new CommandException($"cannot run {command.FileName}: {e.Message}", e);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(command.Timeout);
        try
        {
            var stdout = command.OutputLines is { } lines
                ? ReadLinesAsync(process.StandardOutput, lines, deadline.Token)
                : process.StandardOutput.ReadToEndAsync(deadline.Token);
            var stderr = process.StandardError.ReadToEndAsync(deadline.Token);
            await WriteInputAsync(process, command.StandardInput, deadline.Token);
            await process.WaitForExitAsync(deadline.Token);
            return new CommandResult(process.ExitCode, await stdout, await stderr, _clock.GetElapsedTime(began));
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            KillTree(process);
            cancellationToken.ThrowIfCancellationRequested();
            throw new CommandException($"{command.FileName} did not finish within {command.Timeout.TotalSeconds:0.###} s and was killed");
        }
    }

    private static async Task<string> ReadLinesAsync(StreamReader output, IOutputLines lines, CancellationToken cancel)
    {
        await OutputLines.ReadAsync(output, lines, cancel).ConfigureAwait(false);
        return string.Empty;
    }

    private static async Task WriteInputAsync(Process process, CommandInput? input, CancellationToken cancel)
    {
        try
        {
            foreach (var chunk in input?.Chunks ?? [])
            {
                await process.StandardInput.WriteAsync(chunk, cancel);
            }
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The program exited without reading all its input; its exit code and stderr say why.
        }
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }
}
