using System.Net;
using System.Security.Cryptography;
using System.Text;
using Felix.Agent.Calculation;
using Felix.Agent.Model;
using Felix.Dataplane;

namespace Felix.Bench;

/// <summary>
/// What the calculation would hand the renderer for a busy host: P profiles with the kinds of
/// rules operators write (allow from the profile's own tag, tcp ports from a neighbouring tag, a
/// port list long enough to need two multiport rules, ssh denied except to admins, a subnet
/// allowed; everything allowed out) and L local dual-stack endpoints with one or two profiles, a
/// MAC and one address per family, plus a masquerade pool per family.
/// </summary>
internal static class RenderModel
{
    /// <summary>The profile whose rules the re-render figure changes.</summary>
    public const string ChangedProfile = "p0";

    public static List<DataplaneUpdate> Updates(int endpoints, int profiles)
    {
        var updates = new List<DataplaneUpdate>();
        for (var p = 0; p < profiles; p++)
        {
            updates.Add(new ProfileUpdate($"p{p}", Rules(p, profiles, webPortsLast: 8090)));
        }
        for (var i = 0; i < endpoints; i++)
        {
            updates.Add(Endpoint($"w{i}", i, profiles));
        }
        var v4Pool = new IPNetwork(new IPAddress([10, 128, 0, 0]), 9);
        var v6Pool = new IPNetwork(IPAddress.Parse("fd00::"), 64);
        updates.Add(new PoolUpdate(new IpPoolKey(IpVersion.V4, v4Pool), new IpPool(v4Pool, Masquerade: true)));
        updates.Add(new PoolUpdate(new IpPoolKey(IpVersion.V6, v6Pool), new IpPool(v6Pool, Masquerade: true)));
        updates.Add(new InSync());
        return updates;
    }

    /// <summary>
    /// The rules of profile <paramref name="p"/>; <paramref name="webPortsLast"/> ends the web port
    /// range, so a caller can make a copy that differs in exactly one inbound rule.
    /// </summary>
    public static ProfileRules Rules(int p, int profiles, ushort webPortsLast) => new(
        [
            new Rule { Match = new RuleMatch { SrcTag = $"t{p}" } },
            new Rule
            {
                Match = new RuleMatch
                {
                    Protocol = Protocol.Tcp,
                    SrcTag = $"t{(p + 1) % profiles}",
                    DstPorts = [new(80), new(443), new(8080, webPortsLast)],
                },
            },
            new Rule { Match = new RuleMatch { Protocol = Protocol.Tcp, DstPorts = MonitoringPorts } },
            new Rule
            {
                Action = RuleAction.Deny,
                Match = new RuleMatch { Protocol = Protocol.Tcp, DstPorts = [new(22)] },
                NotMatch = new RuleMatch { SrcTag = "admin" },
            },
            new Rule { Match = new RuleMatch { SrcNet = new IPNetwork(new IPAddress([10, (byte)(p >> 8), (byte)p, 0]), 24) } },
        ],
        [new Rule()]);

    /// <summary>Local endpoint number <paramref name="i"/>; <paramref name="workload"/> makes its key and interface name.</summary>
    public static EndpointUpdate Endpoint(string workload, int i, int profiles)
    {
        EquatableList<string> profileIds = i % 2 == 0 ? [$"p{i % profiles}"] : [$"p{i % profiles}", $"p{(i + profiles / 2) % profiles}"];
        var v4 = new IPAddress([10, (byte)(128 + (i >> 16)), (byte)(i >> 8), (byte)i]);
        var v6Bytes = new byte[16];
        (v6Bytes[0], v6Bytes[1], v6Bytes[13], v6Bytes[14], v6Bytes[15]) = (0xfd, 0x00, (byte)(i >> 16), (byte)(i >> 8), (byte)i);
        return new EndpointUpdate(
            new WorkloadEndpointKey("me", "k8s", workload, "eth0"),
            EndpointState.Active,
            InterfaceName(workload),
            $"ee:ee:{i >> 24 & 0xff:x2}:{i >> 16 & 0xff:x2}:{i >> 8 & 0xff:x2}:{i & 0xff:x2}",
            profileIds,
            [new IPNetwork(v4, 32)],
            [new IPNetwork(new IPAddress(v6Bytes), 128)],
            null,
            null);
    }

    /// <summary>
    /// Eighteen ports: more than multiport's fifteen slots, so the rule renders as two rules. A
    /// monitoring profile listing every exporter's port is where such lists come from.
    /// </summary>
    private static EquatableList<PortRange> MonitoringPorts { get; } =
        [.. new ushort[] { 9090, 9091, 9093, 9100, 9101, 9102, 9104, 9113, 9115, 9116, 9121, 9187, 9216, 9256, 9308, 9400, 9419, 9500 }
            .Select(port => new PortRange(port))];

    /// <summary>
    /// <c>cali</c> and 11 hex characters of a hash of the workload, as the orchestrator plugins name
    /// veths: the names spread evenly over the dispatch tree's branches, as on a real host.
    /// </summary>
    private static string InterfaceName(string workload) =>
        "cali" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(workload)))[..11];
}
