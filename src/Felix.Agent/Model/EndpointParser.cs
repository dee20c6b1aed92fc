using System.Net;
using System.Text.Json;

namespace Felix.Agent.Model;

/// <summary>
/// Workload endpoint values. Every field that reaches the kernel is checked here: the interface
/// name against the prefix and the kernel's rules, the MAC, each profile id, and each address,
/// which must be a single address of the list's family (a wider net on an endpoint would make the
/// agent route, and accept sources from, a whole range). Unknown fields are ignored, as
/// orchestrator plugins add their own.
/// </summary>
internal static partial class EndpointParser
{
    private static readonly string[] Fields =
        ["state", "name", "mac", "profile_ids", "profile_id", "ipv4_nets", "ipv6_nets", "ipv4_gateway", "ipv6_gateway"];

    public static ValueParseResult Parse(JsonElement root, ModelOptions options)
    {
        var error = Read(root, options, out var endpoint);
        return error is null ? new ValidValue(endpoint!) : new InvalidValue(error);
    }

    private static string? Read(JsonElement root, ModelOptions options, out WorkloadEndpoint? endpoint)
    {
        endpoint = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return $"expected an endpoint object, got {Reasons.TypeOf(root)}";
        }
        var f = new JsonElement[Fields.Length];
        var (state, name, mac) = (EndpointState.Inactive, "", (string?)null);
        var (profileIds, ipv4Nets, ipv6Nets) = (EquatableList.Empty<string>(), EquatableList.Empty<IPNetwork>(), EquatableList.Empty<IPNetwork>());
        var (ipv4Gateway, ipv6Gateway) = ((IPAddress?)null, (IPAddress?)null);
        var error = JsonFields.Collect(root, "", Fields, f, refuseUnknown: false)
            ?? ReadState(f[0], out state)
            ?? ReadName(f[1], options.InterfacePrefix, out name)
            ?? ReadMac(f[2], out mac)
            ?? ReadProfileIds(f[3], f[4], out profileIds)
            ?? ReadNets(f[5], "ipv4_nets", IpVersion.V4, out ipv4Nets)
            ?? ReadNets(f[6], "ipv6_nets", IpVersion.V6, out ipv6Nets)
            ?? ReadGateway(f[7], "ipv4_gateway", IpVersion.V4, out ipv4Gateway)
            ?? ReadGateway(f[8], "ipv6_gateway", IpVersion.V6, out ipv6Gateway);
        if (error is null)
        {
            endpoint = new WorkloadEndpoint(state, name, mac, profileIds, ipv4Nets, ipv6Nets, ipv4Gateway, ipv6Gateway);
        }
        return error;
    }

    private static string? ReadState(JsonElement element, out EndpointState state)
    {
        state = EndpointState.Inactive;
        if (JsonFields.RequiredString(element, "state", out var text) is { } error)
        {
            return error;
        }
        state = text == "active" ? EndpointState.Active : EndpointState.Inactive;
        return text is "active" or "inactive" ? null : $"state: {Reasons.Show(text)} is not active or inactive";
    }

    private static string? ReadName(JsonElement element, string prefix, out string name) =>
        JsonFields.RequiredString(element, "name", out name)
        ?? (Syntax.InterfaceNameProblem(name, prefix) is { } problem ? $"name: {Reasons.Show(name)} {problem}" : null);

    private static string? ReadMac(JsonElement element, out string? mac)
    {
        mac = null;
        var error = JsonFields.OptionalString(element, "mac", out var text);
        if (error is not null || text is null)
        {
            return error;
        }
        mac = Syntax.ParseMac(text);
        return mac is null ? $"mac: {Reasons.Show(text)} is not a MAC address (six hex pairs separated by ':')" : null;
    }

    /// <summary>
    /// <c>profile_ids</c>, or the legacy single <c>profile_id</c>; not both, since which one wins
    /// would be a guess about which writer is current.
    /// </summary>
    private static string? ReadProfileIds(JsonElement list, JsonElement single, out EquatableList<string> ids)
    {
        ids = [];
        if (!JsonFields.IsAbsent(single))
        {
            if (!JsonFields.IsAbsent(list))
            {
                return "profile_id: given together with profile_ids (use profile_ids alone)";
            }
            var error = JsonFields.RequiredString(single, "profile_id", out var id);
            if (error is null && Syntax.IdProblem(id) is { } problem)
            {
                error = $"profile_id: {Reasons.Show(id)} {problem}";
            }
            ids = error is null ? [id] : [];
            return error;
        }
        if (JsonFields.IsAbsent(list))
        {
            return "profile_ids: missing";
        }
        return IdLists.Read(list, "profile_ids", out ids);
    }

    private static string? ReadNets(JsonElement element, string path, IpVersion version, out EquatableList<IPNetwork> nets)
    {
        nets = [];
        var error = JsonFields.OptionalArray(element, path, out var present);
        if (error is not null || !present)
        {
            return error;
        }
        var hostLength = version == IpVersion.V4 ? 32 : 128;
        var found = new List<IPNetwork>();
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return $"{path}[{found.Count}]: expected a string, got {Reasons.TypeOf(item)}";
            }
            var text = item.GetString()!;
            if (!Networks.TryParseNetwork(text, out var net, out _) || Networks.FamilyOf(net) != version)
            {
                return $"{path}[{found.Count}]: {Reasons.Show(text)} is not an {Networks.Name(version)} network";
            }
            if (net.PrefixLength != hostLength)
            {
                return $"{path}[{found.Count}]: {Reasons.Show(text)} is not a single address (/{hostLength})";
            }
            if (net.BaseAddress.Equals(IPAddress.Any) || net.BaseAddress.Equals(IPAddress.IPv6Any))
            {
                // The kernel's hash:ip sets refuse the unspecified address, and no workload can have it.
                return $"{path}[{found.Count}]: {Reasons.Show(text)} is the unspecified address";
            }
            found.Add(net);
        }
        nets = EquatableList.From(found);
        return null;
    }

    private static string? ReadGateway(JsonElement element, string path, IpVersion version, out IPAddress? gateway)
    {
        gateway = null;
        var error = JsonFields.OptionalString(element, path, out var text);
        if (error is not null || text is null)
        {
            return error;
        }
        gateway = Networks.ParseAddress(text);
        if (gateway is null || Networks.FamilyOf(gateway) != version)
        {
            gateway = null;
            return $"{path}: {Reasons.Show(text)} is not an {Networks.Name(version)} address";
        }
        return null;
    }
}
