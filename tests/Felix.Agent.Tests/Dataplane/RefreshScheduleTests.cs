using Felix.Agent.Dataplane;

namespace Felix.Agent.Tests.Dataplane;

public sealed class RefreshScheduleTests
{
    [Theory]
    [InlineData(0.0, 63.0)]
    [InlineData(0.5, 69.75)]
    [InlineData(0.999999, 76.5)]
    public void A_jittered_interval_is_70_to_85_percent_of_the_configured_one(double unit, double seconds) =>
        Assert.Equal(seconds, RefreshSchedule.Jittered(TimeSpan.FromSeconds(90), unit).TotalSeconds, precision: 3);

    [Fact]
    public void A_refresh_that_is_off_stays_off() =>
        Assert.Equal(TimeSpan.Zero, RefreshSchedule.Jittered(TimeSpan.Zero, 0.5));

    [Fact]
    public void Idle_polls_come_once_a_second_for_the_default_intervals() =>
        Assert.Equal(TimeSpan.FromSeconds(1), RefreshSchedule.IdlePoll(TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(90)));

    [Fact]
    public void Idle_polls_come_at_a_tenth_of_the_shortest_interval_that_is_on() =>
        Assert.Equal(TimeSpan.FromMilliseconds(300), RefreshSchedule.IdlePoll(TimeSpan.Zero, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(90)));

    [Fact]
    public void The_latest_read_back_plus_the_idle_poll_leaves_room_within_the_configured_interval()
    {
        var configured = TimeSpan.FromSeconds(3);
        var latest = RefreshSchedule.Jittered(configured, 0.999999) + RefreshSchedule.IdlePoll(configured);
        Assert.True(latest <= configured * 0.96, $"{latest} leaves no room within {configured}");
    }
}
