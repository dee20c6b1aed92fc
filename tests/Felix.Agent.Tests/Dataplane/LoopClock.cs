using Microsoft.Extensions.Time.Testing;

namespace Felix.Agent.Tests.Dataplane;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that also tells whether the driver's loop is asleep. The loop
/// sleeps in one place, on a <see cref="CancellationTokenSource"/> timed on this clock, and it is
/// the only thing in the harness that makes timers (the kernel objects are given one attempt per
/// apply, so they never back off on the clock). So the loop is asleep exactly while the last timer
/// made has neither fired nor been disposed: a wake by input disposes it, a wake by time fires it
/// (inside <see cref="Advance"/>, on the caller's thread).
/// </summary>
internal sealed class LoopClock : TimeProvider
{
    private readonly FakeTimeProvider _fake = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly Lock _gate = new();
    private Sleep? _latest;

    /// <summary>When the loop, asleep, will wake by itself; null while it is not asleep.</summary>
    public DateTimeOffset? WakesAt
    {
        get
        {
            lock (_gate)
            {
                return _latest is { Fired: false, Disposed: false } sleep ? sleep.WakesAt : null;
            }
        }
    }

    public override DateTimeOffset GetUtcNow() => _fake.GetUtcNow();

    public override long GetTimestamp() => _fake.GetTimestamp();

    public override long TimestampFrequency => _fake.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => _fake.LocalTimeZone;

    /// <summary>Moves time on; a sleep that ends within it is woken before this returns.</summary>
    public void Advance(TimeSpan by) => _fake.Advance(by);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var sleep = new Sleep(this, _fake.GetUtcNow() + dueTime);
        sleep.Inner = _fake.CreateTimer(s =>
        {
            lock (_gate)
            {
                sleep.Fired = true;
            }
            callback(s);
        }, state, dueTime, period);
        lock (_gate)
        {
            _latest = sleep;
        }
        return sleep;
    }

    private sealed class Sleep(LoopClock clock, DateTimeOffset wakesAt) : ITimer
    {
        public ITimer Inner { get; set; } = null!;

        public DateTimeOffset WakesAt { get; } = wakesAt;

        public bool Fired { get; set; }

        public bool Disposed { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period) => Inner.Change(dueTime, period);

        public void Dispose()
        {
            lock (clock._gate)
            {
                Disposed = true;
            }
            Inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
