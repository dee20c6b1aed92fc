using System.Net;
using System.Security.Cryptography;
using System.Text;
using Felix.Agent.Calculation;
using Felix.Agent.Model;
using Felix.Agent.Policy;
using Felix.Dataplane;

namespace Felix.IntegrationTests.Iptables;

/// <summary>
/// A host's policy as the calculation would hand it to the renderer: eight profiles with the rules
/// operators write (own tag allowed, web ports from the next profile's tag, ssh denied except to
/// admins, a subnet per family allowed; everything allowed out), dual-stack endpoints with one or
/// two profiles, and a masquerade pool per family, so both tables and every kind of chain
/// (host, profile, endpoint, dispatch tree above 32 endpoints, nat) are programmed.
/// </summary>
public static class IptablesModel
{
    public const int Profiles = 8;

    public static PolicyConfig Config { get; } = new("cali", 0xff000000);

    public static IEnumerable<DataplaneUpdate> Updates(int endpoints)
    {
        for (var p = 0; p < Profiles; p++)
        {
            yield return new ProfileUpdate($"p{p}", Rules(p));
        }
        for (var i = 0; i < endpoints; i++)
        {
            yield return Endpoint(i);
        }
        var v4Pool = IPNetwork.Parse("10.65.0.0/16");
        var v6Pool = IPNetwork.Parse("fd00:65::/64");
        yield return new PoolUpdate(new IpPoolKey(IpVersion.V4, v4Pool), new IpPool(v4Pool, Masquerade: true));
        yield return new PoolUpdate(new IpPoolKey(IpVersion.V6, v6Pool), new IpPool(v6Pool, Masquerade: true));
        yield return new InSync();
    }

    /// <summary>A renderer fed the model of <paramref name="endpoints"/> endpoints and rendered once.</summary>
    public static PolicyRenderer Rendered(IpVersion version, int endpoints)
    {
        var renderer = new PolicyRenderer(version, Config);
        foreach (var update in Updates(endpoints))
        {
            renderer.OnUpdate(update);
        }
        renderer.Render();
        return renderer;
    }

    /// <summary>Endpoint <paramref name="i"/>; its profiles and extra IPv4 addresses can be overridden to change it.</summary>
    public static EndpointUpdate Endpoint(int i, EquatableList<string>? profiles = null, int extraIpv4Addresses = 0)
    {
        var v4 = Enumerable.Range(0, 1 + extraIpv4Addresses)
            .Select(n => new IPNetwork(new IPAddress([10, 65, (byte)(n * 64 + (i >> 8)), (byte)i]), 32));
        var v6 = new IPNetwork(IPAddress.Parse($"fd00:65::{i:x}"), 128);
        return new EndpointUpdate(
            new WorkloadEndpointKey("node1", "k8s", $"w{i}", "eth0"),
            EndpointState.Active,
            InterfaceName(i),
            $"ee:ee:00:00:{i >> 8 & 0xff:x2}:{i & 0xff:x2}",
            profiles ?? (i % 2 == 0 ? [$"p{i % Profiles}"] : [$"p{i % Profiles}", $"p{(i + 1) % Profiles}"]),
            EquatableList.From(v4),
            [v6],
            null,
            null);
    }

    /// <summary>Hashed like the orchestrators' veth names, so a large model spreads over the dispatch tree.</summary>
    public static string InterfaceName(int i) =>
        "cali" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"w{i}")))[..11];

    private static ProfileRules Rules(int p) => new(
        [
            new Rule { Match = new RuleMatch { SrcTag = $"t{p}" } },
            new Rule
            {
                Match = new RuleMatch
                {
                    Protocol = Protocol.Tcp,
                    SrcTag = $"t{(p + 1) % Profiles}",
                    DstPorts = [new(80), new(443), new(8080, 8090)],
                },
            },
            new Rule
            {
                Action = RuleAction.Deny,
                Match = new RuleMatch { Protocol = Protocol.Tcp, DstPorts = [new(22)] },
                NotMatch = new RuleMatch { SrcTag = "admin" },
            },
            new Rule { Match = new RuleMatch { SrcNet = IPNetwork.Parse($"10.{p}.0.0/24") } },
            new Rule { Match = new RuleMatch { SrcNet = IPNetwork.Parse($"fd00:{p}::/64") } },
        ],
        [new Rule()]);
}
