using System.Diagnostics;
using System.Net;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// Asks an agent's <c>/liveness</c> every 250 ms in the background, from when the agent is known to
/// be live until disposed (at most <see cref="MaxDuration"/>), and remembers every answer that was not
/// 200: a test checks <see cref="Failures"/> at the end to show the agent stayed live throughout.
/// </summary>
public sealed class LivenessWatch : IAsyncDisposable
{
    public static readonly TimeSpan MaxDuration = TimeSpan.FromMinutes(10);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _failures = [];
    private readonly Lock _gate = new();
    private readonly Task _loop;
    private int _polls;

    private LivenessWatch(AgentProcess agent) => _loop = Task.Run(() => PollAsync(agent));

    /// <summary>Starts watching an agent whose liveness already answered 200.</summary>
    public static LivenessWatch Start(AgentProcess agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return new LivenessWatch(agent);
    }

    public int Polls => Volatile.Read(ref _polls);

    public IReadOnlyList<string> Failures
    {
        get
        {
            lock (_gate)
            {
                return [.. _failures];
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    private async Task PollAsync(AgentProcess agent)
    {
        using var http = AgentProcess.CreateHttpClient(TimeSpan.FromSeconds(2));
        var clock = Stopwatch.StartNew();
        while (!_stop.IsCancellationRequested && clock.Elapsed < MaxDuration)
        {
            string? failure;
            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{agent.HealthPort}/liveness"), _stop.Token);
                failure = response.StatusCode == HttpStatusCode.OK ? null : $"{(int)response.StatusCode}";
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (AgentProcess.IsNotAnsweringYet(e))
            {
                failure = e.Message;
            }

            Interlocked.Increment(ref _polls);
            if (failure is not null)
            {
                lock (_gate)
                {
                    _failures.Add($"{clock.Elapsed.TotalSeconds:F1} s: {failure}");
                }
            }

            try
            {
                await Task.Delay(Interval, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
