using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Felix.Agent.Model;

/// <summary>What <see cref="ValueParser.Parse"/> made of a value.</summary>
public abstract record ValueParseResult
{
    private protected ValueParseResult()
    {
    }
}

public sealed record ValidValue(DatastoreValue Value) : ValueParseResult;

/// <summary>
/// A value that must be treated as if its key were absent. <see cref="Reason"/> is one line, names
/// the field at fault and echoes at most a short, escaped excerpt of the input, so it can go
/// straight into a log line.
/// </summary>
public sealed record InvalidValue(string Reason) : ValueParseResult;

/// <summary>The agent settings that decide what is valid.</summary>
public sealed record ModelOptions(string InterfacePrefix);

/// <summary>
/// Turns the bytes stored under a key into its record, or into the reason it is invalid. Nothing
/// here throws for any input: a value written by a buggy or hostile client must cost one log
/// line, never the agent. The order of the checks is the order of their cost: size, then
/// encoding, then syntax and nesting, then meaning.
/// </summary>
public static class ValueParser
{
    /// <summary>
    /// The largest value accepted: 512 KiB. The biggest legitimate values are profiles, at a few
    /// hundred bytes per rule, so this allows thousands of rules per profile, while a single bad
    /// value cannot make the agent parse (and hold) megabytes; etcd itself allows 1.5 MiB.
    /// </summary>
    public const int MaxValueBytes = 512 * 1024;

    public static ValueParseResult Parse(DatastoreKey key, ReadOnlySpan<byte> value, ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(options);
        if (value.Length > MaxValueBytes)
        {
            return new InvalidValue($"value is {value.Length} bytes, over the limit of {MaxValueBytes} bytes");
        }
        if (!Utf8.IsValid(value))
        {
            return new InvalidValue($"value is not valid UTF-8 (byte {FirstInvalidUtf8Byte(value)})");
        }
        return key switch
        {
            ReadyKey => ParseReady(value),
            GlobalConfigKey or HostConfigKey => new ValidValue(new ConfigValue(Encoding.UTF8.GetString(value))),
            HostIpKey => ParseHostIp(value),
            WorkloadEndpointKey => EndpointParser.TryParseFast(value, options) is { } endpoint
                ? new ValidValue(endpoint)
                : ParseJson(value, root => EndpointParser.Parse(root, options)),
            ProfileRulesKey => ParseJson(value, RulesParser.Parse),
            ProfileTagsKey => ParseJson(value, IdLists.ParseTags),
            IpPoolKey pool => ParseJson(value, root => PoolParser.Parse(root, pool)),
            _ => new InvalidValue($"no parser for keys of kind {key.Kind}"),
        };
    }

    private static ValueParseResult ParseReady(ReadOnlySpan<byte> value) => value switch
    {
        _ when value.SequenceEqual("true"u8) => new ValidValue(new ReadyFlag(true)),
        _ when value.SequenceEqual("false"u8) => new ValidValue(new ReadyFlag(false)),
        _ => new InvalidValue($"{Reasons.Show(Encoding.UTF8.GetString(value))} is not true or false"),
    };

    private static ValueParseResult ParseHostIp(ReadOnlySpan<byte> value)
    {
        var text = Encoding.UTF8.GetString(value);
        return Networks.ParseAddress(text) is { } address && Networks.FamilyOf(address) == IpVersion.V4
            ? new ValidValue(new HostIp(address))
            : new InvalidValue($"{Reasons.Show(text)} is not an IPv4 address");
    }

    private static ValueParseResult ParseJson(ReadOnlySpan<byte> value, Func<JsonElement, ValueParseResult> parse)
    {
        using var document = JsonInput.Parse(value, out var reason);
        return document is null ? new InvalidValue(reason!) : parse(document.RootElement);
    }

    private static int FirstInvalidUtf8Byte(ReadOnlySpan<byte> value)
    {
        var offset = 0;
        while (Rune.DecodeFromUtf8(value[offset..], out _, out var consumed) == System.Buffers.OperationStatus.Done)
        {
            offset += consumed;
        }
        return offset;
    }
}
