using Felix.Dataplane.Routes;

namespace Felix.Dataplane.Tests.Routes;

/// <summary>A refresh's pass over every interface is spread over applies; new work never waits for it.</summary>
public sealed partial class InterfaceConfiguratorTests
{
    private static readonly string[] Five = ["cali1", "cali2", "cali3", "cali4", "cali5"];

    [Fact]
    public void A_refresh_repairs_a_few_interfaces_per_apply_in_name_order_until_all_are_checked()
    {
        var configurator = ConfiguredFive(InterfaceHarness.Options with { MaxRechecksPerApply = 2 });
        foreach (var name in Five)
        {
            _h.Sysctls[$"net/ipv4/conf/{name}/rp_filter"] = "0";
        }

        _h.Clock.Advance(TimeSpan.FromSeconds(90));
        Assert.True(configurator.Apply());
        Assert.Equal("1 1 0 0 0", RpFilters());
        Assert.True(configurator.HasPendingWork);

        Assert.True(configurator.Apply());
        Assert.Equal("1 1 1 1 0", RpFilters());

        Assert.True(configurator.Apply());
        Assert.Equal("1 1 1 1 1", RpFilters());
        Assert.False(configurator.HasPendingWork);
        Assert.All(Five, name => Assert.True(configurator.IsConfigured(name)));
    }

    [Fact]
    public void A_new_interface_is_configured_at_once_while_a_refresh_pass_is_under_way()
    {
        var configurator = ConfiguredFive(InterfaceHarness.Options with { MaxRechecksPerApply = 1 });
        _h.Clock.Advance(TimeSpan.FromSeconds(90));
        Assert.True(configurator.Apply());

        _h.CreateInterface("cali6", up: true);
        _h.Deliver(configurator);
        configurator.SetInterface(Workload("cali6"));
        Assert.True(configurator.Apply());

        Assert.True(configurator.IsConfigured("cali6"));
        Assert.Equal("1", _h.Sysctls["net/ipv4/conf/cali6/rp_filter"]);
        Assert.True(configurator.HasPendingWork, "three of the five re-checks are still to come");
    }

    [Fact]
    public void An_interface_removed_before_its_recheck_is_skipped_without_using_the_budget()
    {
        var configurator = ConfiguredFive(InterfaceHarness.Options with { MaxRechecksPerApply = 1 });
        _h.Sysctls["net/ipv4/conf/cali2/rp_filter"] = "0";
        _h.Clock.Advance(TimeSpan.FromSeconds(90));
        Assert.True(configurator.Apply());

        configurator.RemoveInterface("cali3");
        configurator.RemoveInterface("cali4");
        configurator.RemoveInterface("cali5");
        Assert.True(configurator.Apply());

        Assert.Equal("1", _h.Sysctls["net/ipv4/conf/cali2/rp_filter"]);
        Assert.False(configurator.HasPendingWork);
    }

    [Fact]
    public void A_budget_below_one_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _h.New(InterfaceHarness.Options with { MaxRechecksPerApply = 0 }));

    private InterfaceConfigurator ConfiguredFive(InterfaceConfiguratorOptions options)
    {
        var configurator = _h.New(options);
        foreach (var name in Five)
        {
            _h.CreateInterface(name);
        }
        _h.Deliver(configurator);
        foreach (var name in Five)
        {
            configurator.SetInterface(Workload(name));
        }
        Assert.True(configurator.Apply());
        _h.Deliver(configurator);
        Assert.False(configurator.HasPendingWork);
        return configurator;
    }

    private string RpFilters() => string.Join(' ', Five.Select(name => _h.Sysctls[$"net/ipv4/conf/{name}/rp_filter"] ?? "-"));
}
