using System.Net;
using System.Text.Json;

namespace Felix.Agent.Model;

/// <summary>
/// The fast path for endpoint values, which are nearly all of a large cluster's keys: one pass of
/// <see cref="Utf8JsonReader"/> over the bytes, without the syntax pre-pass, the
/// <see cref="JsonDocument"/> and its copy of the value, or an intermediate string per address.
/// It accepts only what it fully understands — a well-formed object of known fields, no JSON
/// null, no string escapes, no duplicates, every field valid — and returns null for anything
/// else, so every value it does not accept goes through <see cref="Parse"/>, which alone decides
/// what is invalid and why. A value it accepts parses to the record <see cref="Parse"/> would give.
/// </summary>
internal static partial class EndpointParser
{
    // Deeper values (only unknown fields can nest) take the full path, which owns the depth limit.
    private static readonly JsonReaderOptions FastOptions = new() { MaxDepth = 8 };

    /// <summary>Longest address or network text read without allocating (an IPv6 network is at most 49).</summary>
    private const int MaxNetText = 64;

    public static WorkloadEndpoint? TryParseFast(ReadOnlySpan<byte> utf8, ModelOptions options)
    {
        try
        {
            return ReadFast(utf8, options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static WorkloadEndpoint? ReadFast(ReadOnlySpan<byte> utf8, ModelOptions options)
    {
        var reader = new Utf8JsonReader(utf8, FastOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }
        var seen = 0;
        EndpointState? state = null;
        string? name = null, mac = null;
        EquatableList<string>? profileIds = null;
        var (ipv4Nets, ipv6Nets) = (EquatableList.Empty<IPNetwork>(), EquatableList.Empty<IPNetwork>());
        IPAddress? ipv4Gateway = null, ipv6Gateway = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueIsEscaped)
            {
                return null;
            }
            var field = FieldIndex(ref reader);
            if (field >= 0 && (seen & (1 << field)) != 0)
            {
                return null;
            }
            seen |= field >= 0 ? 1 << field : 0;
            if (!reader.Read() || reader.TokenType == JsonTokenType.Null)
            {
                return null;
            }
            var ok = field switch
            {
                0 => FastState(ref reader, out state),
                1 => (name = FastString(ref reader)) is not null && Syntax.InterfaceNameProblem(name, options.InterfacePrefix) is null,
                2 => FastString(ref reader) is { } text && (mac = Syntax.ParseMac(text)) is not null,
                3 => FastIds(ref reader, out profileIds),
                4 => FastString(ref reader) is { } id && Syntax.IdProblem(id) is null && (profileIds = [NamePool.Share(id)]) is not null,
                5 => FastNets(ref reader, IpVersion.V4, out ipv4Nets),
                6 => FastNets(ref reader, IpVersion.V6, out ipv6Nets),
                7 => FastAddress(ref reader, IpVersion.V4, out ipv4Gateway),
                8 => FastAddress(ref reader, IpVersion.V6, out ipv6Gateway),
                _ => SkipUnknown(ref reader),
            };
            if (!ok)
            {
                return null;
            }
        }
        // profile_ids and profile_id together are refused by the full path.
        const int bothProfileFields = (1 << 3) | (1 << 4);
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read() || state is null || name is null || profileIds is null
            || (seen & bothProfileFields) == bothProfileFields)
        {
            return null;
        }
        return new WorkloadEndpoint(state.Value, name, mac, profileIds, ipv4Nets, ipv6Nets, ipv4Gateway, ipv6Gateway);
    }

    private static int FieldIndex(ref Utf8JsonReader reader)
    {
        for (var i = 0; i < FieldsUtf8.Length; i++)
        {
            if (reader.ValueTextEquals(FieldsUtf8[i]))
            {
                return i;
            }
        }
        return -1;
    }

    private static readonly byte[][] FieldsUtf8 = [.. Fields.Select(System.Text.Encoding.UTF8.GetBytes)];

    private static bool FastState(ref Utf8JsonReader reader, out EndpointState? state)
    {
        state = reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped ? null
            : reader.ValueTextEquals("active"u8) ? EndpointState.Active
            : reader.ValueTextEquals("inactive"u8) ? EndpointState.Inactive
            : null;
        return state is not null;
    }

    /// <summary>The current token as a string, or null when it is not a string without escapes.</summary>
    private static string? FastString(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped ? reader.GetString() : null;

    private static bool FastIds(ref Utf8JsonReader reader, out EquatableList<string>? ids)
    {
        ids = null;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }
        var found = new List<string>(2);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (FastString(ref reader) is not { } id || Syntax.IdProblem(id) is not null)
            {
                return false;
            }
            // Profile ids repeat across every endpoint of the cluster: one string per name.
            found.Add(NamePool.Share(id));
        }
        ids = EquatableList.Create<string>([.. found]);
        return true;
    }

    private static bool FastNets(ref Utf8JsonReader reader, IpVersion version, out EquatableList<IPNetwork> nets)
    {
        nets = EquatableList.Empty<IPNetwork>();
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }
        var hostLength = version == IpVersion.V4 ? 32 : 128;
        List<IPNetwork>? found = null;
        Span<char> text = stackalloc char[MaxNetText];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (!FastText(ref reader, text, out var length)
                || !Networks.TryParseNetwork(text[..length], out var net, out _)
                || Networks.FamilyOf(net) != version
                || net.PrefixLength != hostLength
                || net.BaseAddress.Equals(IPAddress.Any) || net.BaseAddress.Equals(IPAddress.IPv6Any))
            {
                return false;
            }
            (found ??= new List<IPNetwork>(1)).Add(net);
        }
        nets = found is null ? EquatableList.Empty<IPNetwork>() : EquatableList.Create<IPNetwork>([.. found]);
        return true;
    }

    private static bool FastAddress(ref Utf8JsonReader reader, IpVersion version, out IPAddress? address)
    {
        address = null;
        Span<char> text = stackalloc char[MaxNetText];
        if (!FastText(ref reader, text, out var length))
        {
            return false;
        }
        address = Networks.ParseAddress(text[..length]);
        return address is not null && Networks.FamilyOf(address) == version;
    }

    /// <summary>A short string token without escapes, copied into <paramref name="text"/>.</summary>
    private static bool FastText(ref Utf8JsonReader reader, scoped Span<char> text, out int length)
    {
        length = 0;
        return reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped
            && reader.ValueSpan.Length <= text.Length
            && (length = reader.CopyString(text)) >= 0;
    }

    /// <summary>
    /// Steps over an unknown field's value. A string escape anywhere sends the value to the full
    /// path, which refuses escapes that do not decode wherever they are.
    /// </summary>
    private static bool SkipUnknown(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return !reader.ValueIsEscaped;
        }
        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
            {
                return false;
            }
        }
        return true;
    }
}
