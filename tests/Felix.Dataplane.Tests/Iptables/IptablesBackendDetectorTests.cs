using Felix.Dataplane.Iptables;
using Felix.Dataplane.Tests.Fakes;
using Microsoft.Extensions.Logging.Abstractions;

namespace Felix.Dataplane.Tests.Iptables;

public class IptablesBackendDetectorTests
{
    [Fact]
    public async Task Nft_when_neither_backend_holds_rules() =>
        Assert.Equal(IptablesBackendKind.Nft, await Detect(new FakeIptables(new FakeIptablesOptions { SeparateBackends = true })));

    [Fact]
    public async Task Legacy_when_legacy_holds_the_rules()
    {
        var fake = new FakeIptables(new FakeIptablesOptions { SeparateBackends = true });
        fake.Legacy.AppendRule(IpVersion.V4, "filter", "FORWARD", "-j ACCEPT");
        fake.Legacy.AppendRule(IpVersion.V6, "filter", "INPUT", "-j ACCEPT");
        fake.Nft.AppendRule(IpVersion.V4, "filter", "INPUT", "-j ACCEPT");

        Assert.Equal(IptablesBackendKind.Legacy, await Detect(fake));
    }

    [Fact]
    public async Task Nft_when_it_holds_as_many_rules_as_legacy()
    {
        var fake = new FakeIptables(new FakeIptablesOptions { SeparateBackends = true });
        fake.Legacy.AppendRule(IpVersion.V4, "filter", "FORWARD", "-j ACCEPT");
        fake.Nft.AppendRule(IpVersion.V6, "filter", "FORWARD", "-j ACCEPT");

        Assert.Equal(IptablesBackendKind.Nft, await Detect(fake));
    }

    [Fact]
    public async Task A_backend_whose_tools_fail_counts_as_empty()
    {
        var fake = new FakeIptables(new FakeIptablesOptions { SeparateBackends = true });
        fake.Legacy.AppendRule(IpVersion.V4, "filter", "FORWARD", "-j ACCEPT");
        fake.FailNext(2, "iptables-legacy-save: cannot initialize", FakeIptablesTool.Save);

        Assert.Equal(IptablesBackendKind.Nft, await Detect(fake));
    }

    private static Task<IptablesBackendKind> Detect(FakeIptables fake) =>
        new IptablesBackendDetector(fake, NullLogger.Instance).DetectAsync(CancellationToken.None);
}
