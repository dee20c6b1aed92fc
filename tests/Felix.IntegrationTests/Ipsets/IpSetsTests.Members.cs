using System.Net;
using Felix.Dataplane;
using Felix.Dataplane.Ipsets;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Ipsets;

/// <summary>What a set may hold: <see cref="IpSetSpec.Check"/> held against what the kernel takes.</summary>
public sealed partial class IpSetsTests
{
    /// <summary>Edge members of each type and family: null, broadcast, loopback, multicast, link-local, mapped, halves of the space.</summary>
    private static readonly (IpSetType Type, IpVersion Family, string Member)[] EdgeMembers =
    [
        (IpSetType.HashIp, IpVersion.V4, "0.0.0.0/32"),
        (IpSetType.HashIp, IpVersion.V4, "255.255.255.255/32"),
        (IpSetType.HashIp, IpVersion.V4, "127.0.0.1/32"),
        (IpSetType.HashIp, IpVersion.V4, "224.0.0.1/32"),
        (IpSetType.HashIp, IpVersion.V4, "169.254.1.1/32"),
        (IpSetType.HashNet, IpVersion.V4, "0.0.0.0/32"),
        (IpSetType.HashNet, IpVersion.V4, "0.0.0.0/1"),
        (IpSetType.HashNet, IpVersion.V4, "128.0.0.0/1"),
        (IpSetType.HashNet, IpVersion.V4, "255.255.255.255/32"),
        (IpSetType.HashIp, IpVersion.V6, "::/128"),
        (IpSetType.HashIp, IpVersion.V6, "::1/128"),
        (IpSetType.HashIp, IpVersion.V6, "::ffff:10.1.2.3/128"),
        (IpSetType.HashIp, IpVersion.V6, "fe80::1/128"),
        (IpSetType.HashIp, IpVersion.V6, "ff02::1/128"),
        (IpSetType.HashNet, IpVersion.V6, "::/128"),
        (IpSetType.HashNet, IpVersion.V6, "::/1"),
        (IpSetType.HashNet, IpVersion.V6, "8000::/1"),
        (IpSetType.HashNet, IpVersion.V6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"),
    ];

    /// <summary>
    /// The spec refuses members up front so that nothing the kernel would refuse reaches a batch: one
    /// refused member fails every attempt of every apply, and the sets after it in the batch are never
    /// programmed. The spec may be stricter than the kernel, never laxer.
    /// </summary>
    [Fact]
    public async Task Every_edge_member_the_spec_accepts_is_one_the_kernel_accepts()
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("members");
        var ipset = Require.Executable("ipset", "ipset");
        var laxer = new List<string>();
        var number = 0;
        foreach (var (type, family, text) in EdgeMembers)
        {
            var spec = new IpSetSpec($"felix-edge-{++number}", type, family, MaxSize);
            var member = IPNetwork.Parse(text);
            if (!Accepts(spec, member))
            {
                continue;
            }
            await KernelIpsets.RunAsync(netns, "create", spec.Name, KernelIpsets.TypeName(type), "family", family == IpVersion.V6 ? "inet6" : "inet");
            var kernelText = member.PrefixLength == (family == IpVersion.V6 ? 128 : 32) ? member.BaseAddress.ToString() : text;
            var added = await netns.ExecAsync(ipset, "add", spec.Name, kernelText);
            if (!added.Succeeded)
            {
                laxer.Add($"{KernelIpsets.TypeName(type)} {family}: {text} — {added.StandardError.Trim()}");
            }
        }
        Assert.True(laxer.Count == 0, $"IpSetSpec.Check accepts members the kernel refuses:\n{string.Join('\n', laxer)}");
    }

    private static bool Accepts(IpSetSpec spec, IPNetwork member)
    {
        try
        {
            spec.Check(member);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
