using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// What systemd is to a <c>Type=notify</c> service, for a machine where PID 1 is not systemd: a
/// parent process whose name is <c>systemd</c> (a script of that name: the kernel names a script's
/// process after the script) that starts the agent as its child and passes SIGTERM on to it, and a
/// <c>NOTIFY_SOCKET</c> — a datagram socket at a path, so it reaches into any network namespace —
/// that records every <c>NAME=value</c> the agent sends, in order of arrival.
/// </summary>
public sealed class SystemdStandIn : IAsyncDisposable
{
    // Waits on the child until it has exited: a trapped SIGTERM makes `wait` return early.
    private const string Script = """
        #!/bin/bash
        # Stand-in for systemd as a service's parent: runs the command as a child, forwards SIGTERM.
        "$@" &
        child=$!
        trap 'kill -TERM "$child" 2>/dev/null' TERM
        while true; do
          wait "$child"
          status=$?
          kill -0 "$child" 2>/dev/null || exit "$status"
        done
        """;

    private readonly string _directory;
    private readonly Socket _socket;
    private readonly ConcurrentQueue<Notification> _received = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiving;

    private SystemdStandIn(string directory, Socket socket)
    {
        _directory = directory;
        _socket = socket;
        _receiving = ReceiveAsync();
    }

    /// <summary>One assignment from the agent, with the time since the stand-in started.</summary>
    public sealed record Notification(string Text, TimeSpan At);

    /// <summary>The command that starts a program as this stand-in's child: append the program.</summary>
    public IReadOnlyList<string> Launcher => [Path.Combine(_directory, "systemd")];

    public string NotifySocket => Path.Combine(_directory, "notify");

    /// <summary>Every assignment received so far (a datagram carrying several is split into them).</summary>
    public IReadOnlyList<Notification> Received => [.. _received];

    public static SystemdStandIn Create()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("the systemd stand-in is a Linux script");
        }
        var directory = Directory.CreateTempSubdirectory("felix-systemd-").FullName;
        var script = Path.Combine(directory, "systemd");
        File.WriteAllText(script, Script.ReplaceLineEndings("\n") + "\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(Path.Combine(directory, "notify")));
        }
        catch
        {
            socket.Dispose();
            Directory.Delete(directory, recursive: true);
            throw;
        }
        return new SystemdStandIn(directory, socket);
    }

    /// <summary>Waits, at most <paramref name="timeout"/>, for an assignment that <paramref name="matches"/>; null if none came.</summary>
    public async Task<Notification?> WaitForAsync(Func<string, bool> matches, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_received.FirstOrDefault(n => matches(n.Text)) is { } found)
            {
                return found;
            }
            if (deadline.Elapsed > timeout)
            {
                return null;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(5));
        }
    }

    /// <summary>Everything received, one per line, for failure messages.</summary>
    public string Transcript() => string.Join('\n', _received.Select(n => $"{n.At.TotalMilliseconds,8:F0} ms  {n.Text}"));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _receiving;
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Closed under the pending receive.
        }
        _stop.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[4096];
        while (!_stop.IsCancellationRequested)
        {
            var length = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
            var at = _clock.Elapsed;
            foreach (var line in Encoding.UTF8.GetString(buffer, 0, length).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                _received.Enqueue(new Notification(line, at));
            }
        }
    }
}
