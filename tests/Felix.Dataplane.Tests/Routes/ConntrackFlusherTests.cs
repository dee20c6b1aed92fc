using System.Net;
using Felix.Dataplane.Exec;
using Felix.Dataplane.Routes;
using Felix.Dataplane.Tests.Fakes;
using Microsoft.Extensions.Logging.Abstractions;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>The four directions of one address's flush run at once, each with its own retries and verdict.</summary>
public sealed class ConntrackFlusherTests
{
    private static readonly IPAddress Address = IPAddress.Parse("10.0.0.7");

    [Fact]
    public async Task The_four_directions_are_all_started_before_any_of_them_finishes()
    {
        var runner = new HeldRunner();
        var flusher = new ConntrackFlusher(runner, NullLogger.Instance, TimeSpan.FromSeconds(5));

        var flush = flusher.FlushAsync(IpVersion.V4, Address, CancellationToken.None);

        Assert.Equal(["--orig-src", "--orig-dst", "--reply-src", "--reply-dst"], runner.Started.Select(c => c.Arguments[3]));
        Assert.False(flush.IsCompleted);
        runner.ReleaseAll(new CommandResult(1, string.Empty, "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n", TimeSpan.Zero));
        Assert.True(await flush);
    }

    [Fact]
    public async Task A_direction_that_cannot_run_fails_the_flush_and_the_others_still_run()
    {
        var conntrack = new FakeConntrack();
        conntrack.OnRun = command =>
        {
            if (command.Arguments[3] == "--orig-src")
            {
                throw new CommandException("cannot run conntrack: injected");
            }
        };
        var flusher = new ConntrackFlusher(conntrack, NullLogger.Instance, TimeSpan.FromSeconds(5));

        Assert.False(await flusher.FlushAsync(IpVersion.V4, Address, CancellationToken.None));

        Assert.Equal(["--orig-dst", "--reply-src", "--reply-dst"], conntrack.Calls.Select(c => c.Arguments[3]));
    }

    /// <summary>Holds every run until the test releases them.</summary>
    private sealed class HeldRunner : ICommandRunner
    {
        private readonly List<TaskCompletionSource<CommandResult>> _held = [];

        public List<Command> Started { get; } = [];

        public Task<CommandResult> RunAsync(Command command, CancellationToken cancellationToken)
        {
            Started.Add(command);
            var held = new TaskCompletionSource<CommandResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            _held.Add(held);
            return held.Task;
        }

        public void ReleaseAll(CommandResult result) => _held.ForEach(h => h.SetResult(result));
    }
}
