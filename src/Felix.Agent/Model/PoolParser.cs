using System.Text.Json;

namespace Felix.Agent.Model;

/// <summary>
/// IPAM pool values. The key already names the network; the value must name the same one, so a
/// pool can never be filed under one network while describing another. Unknown fields (such as
/// <c>ipip</c>) are ignored: they configure other components.
/// </summary>
internal static class PoolParser
{
    private static readonly string[] Fields = ["cidr", "masquerade"];

    public static ValueParseResult Parse(JsonElement root, IpPoolKey key)
    {
        var error = Read(root, key, out var masquerade);
        return error is null ? new ValidValue(new IpPool(key.Cidr, masquerade)) : new InvalidValue(error);
    }

    private static string? Read(JsonElement root, IpPoolKey key, out bool masquerade)
    {
        masquerade = false;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return $"expected a pool object, got {Reasons.TypeOf(root)}";
        }
        var f = new JsonElement[Fields.Length];
        var text = "";
        if ((JsonFields.Collect(root, "", Fields, f, refuseUnknown: false)
            ?? JsonFields.RequiredString(f[0], "cidr", out text)) is { } error)
        {
            return error;
        }
        if (!Networks.TryParseNetwork(text, out var cidr, out var hadHostBits) || Networks.FamilyOf(cidr) != key.Version)
        {
            return $"cidr: {Reasons.Show(text)} is not an {Networks.Name(key.Version)} network";
        }
        if (hadHostBits)
        {
            return $"cidr: {Reasons.Show(text)} has host bits set (the network is {cidr})";
        }
        if (cidr != key.Cidr)
        {
            return $"cidr: {Reasons.Show(text)} is not the network of the key ({key.Cidr})";
        }
        if (cidr.PrefixLength == 0)
        {
            // The pool sets are hash:net, which cannot hold /0; a pool of every address is no pool.
            return $"cidr: {Reasons.Show(text)} covers every address; a pool must be narrower";
        }
        if (f[1].ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            masquerade = f[1].GetBoolean();
        }
        else if (!JsonFields.IsAbsent(f[1]))
        {
            return $"masquerade: {Reasons.Show(f[1])} is not true or false";
        }
        return null;
    }
}
