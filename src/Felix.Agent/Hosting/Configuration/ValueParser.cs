using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Felix.Agent.Hosting.Configuration;

/// <summary>Turns a raw configuration string into a typed value, and says what it accepts.</summary>
public sealed class ValueParser<T>
{
    public delegate bool TryParseFunc(string raw, out T value);

    private readonly TryParseFunc _tryParse;

    public ValueParser(string allowed, TryParseFunc tryParse)
    {
        Allowed = allowed;
        _tryParse = tryParse;
    }

    /// <summary>Completes the sentence "must be …".</summary>
    public string Allowed { get; }

    public bool TryParse(string raw, out T value) => _tryParse(raw.Trim(), out value);
}

/// <summary>The parsers the parameter table is built from.</summary>
public static partial class ValueParsers
{
    public static ValueParser<bool> Bool { get; } = new(
        "a boolean (true, false, yes, no, 1, 0)",
        static (string raw, out bool value) =>
        {
            switch (raw.ToUpperInvariant())
            {
                case "TRUE" or "T" or "YES" or "Y" or "1" or "ON":
                    value = true;
                    return true;
                case "FALSE" or "F" or "NO" or "N" or "0" or "OFF":
                    value = false;
                    return true;
                default:
                    value = false;
                    return false;
            }
        });

    public static ValueParser<int> WholeNumber(int min, int max) => new(
        $"an integer from {min} to {max}",
        (string raw, out int value) =>
            int.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value)
            && value >= min && value <= max);

    public static ValueParser<int> Port { get; } = WholeNumber(1, 65535);

    /// <summary>Seconds as a non-negative number (fractions allowed); 0 means "disabled".</summary>
    public static ValueParser<TimeSpan> Seconds { get; } = new(
        "a number of seconds, 0 or more (0 disables)",
        static (string raw, out TimeSpan value) =>
        {
            value = TimeSpan.Zero;
            if (!double.TryParse(raw, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds)
                || !double.IsFinite(seconds) || seconds > TimeSpan.MaxValue.TotalSeconds / 2)
            {
                return false;
            }
            value = TimeSpan.FromSeconds(seconds);
            return true;
        });

    /// <summary>A 32-bit mask, hex (<c>0xff000000</c>) or decimal, with at least one bit set.</summary>
    public static ValueParser<uint> NonZeroMask { get; } = new(
        "a non-zero 32-bit mask such as 0xff000000",
        static (string raw, out uint value) =>
        {
            var ok = raw.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? uint.TryParse(raw.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
                : uint.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out value);
            return ok && value != 0;
        });

    /// <summary>One of named choices, any case. A later name for a value already named is an alias,
    /// accepted but not advertised (<c>WARN</c> for <c>WARNING</c>).</summary>
    public static ValueParser<TEnum> OneOf<TEnum>(params (string Name, TEnum Value)[] choices) => new(
        "one of " + string.Join(", ", choices.DistinctBy(c => c.Value).Select(c => c.Name)),
        (string raw, out TEnum value) =>
        {
            foreach (var (name, choice) in choices)
            {
                if (string.Equals(name, raw, StringComparison.OrdinalIgnoreCase))
                {
                    value = choice;
                    return true;
                }
            }
            value = choices[0].Value;
            return false;
        });

    /// <summary>A host name or IP address to bind or connect to.</summary>
    public static ValueParser<string> Host { get; } = new(
        "an IP address or a host name",
        static (string raw, out string value) =>
        {
            value = raw;
            return IPAddress.TryParse(raw, out _) || HostNamePattern().IsMatch(raw);
        });

    /// <summary>Like <see cref="Host"/>, or <c>none</c>, which is returned as <c>null</c>.</summary>
    public static ValueParser<string?> HostOrNone { get; } = new(
        "an IP address, a host name, or none",
        static (string raw, out string? value) =>
        {
            if (string.Equals(raw, "none", StringComparison.OrdinalIgnoreCase))
            {
                value = null;
                return true;
            }
            var ok = Host.TryParse(raw, out var host);
            value = host;
            return ok;
        });

    /// <summary><c>host:port</c>, the legacy EtcdAddr form.</summary>
    public static ValueParser<string> HostPort { get; } = new(
        "host:port, for example 127.0.0.1:2379",
        static (string raw, out string value) =>
        {
            value = raw;
            var colon = raw.LastIndexOf(':');
            return colon > 0
                && Host.TryParse(raw[..colon].Trim('[', ']'), out _)
                && Port.TryParse(raw[(colon + 1)..], out _);
        });

    /// <summary>Comma-separated http(s) URLs; an empty list is not allowed.</summary>
    public static ValueParser<IReadOnlyList<Uri>?> UrlList { get; } = new(
        "a comma-separated list of http:// or https:// URLs",
        static (string raw, out IReadOnlyList<Uri>? value) =>
        {
            value = null;
            var urls = new List<Uri>();
            foreach (var part in raw.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!Uri.TryCreate(part, UriKind.Absolute, out var uri)
                    || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                    || string.IsNullOrEmpty(uri.Host))
                {
                    return false;
                }
                urls.Add(uri);
            }
            value = urls;
            return urls.Count > 0;
        });

    /// <summary>The path of a file that exists when the configuration is read.</summary>
    public static ValueParser<string?> ExistingFile { get; } = new(
        "the path of an existing, readable file",
        static (string raw, out string? value) =>
        {
            value = raw;
            return raw.Length > 0 && File.Exists(raw);
        });

    /// <summary>Host names as Calico uses them in keys: no slashes, spaces or control characters.</summary>
    public static ValueParser<string> Hostname { get; } = new(
        "a host name of letters, digits, '.', '_' and '-' (at most 253 characters)",
        static (string raw, out string value) =>
        {
            value = raw;
            return raw.Length <= 253 && IdPattern().IsMatch(raw);
        });

    /// <summary>An interface name prefix: leaves room for a suffix within the 15-character limit.</summary>
    public static ValueParser<string> InterfacePrefix { get; } = new(
        "1 to 14 characters of letters, digits, '_' and '-'",
        static (string raw, out string value) =>
        {
            value = raw;
            return raw.Length is >= 1 and <= 14 && InterfaceChars().IsMatch(raw);
        });

    [GeneratedRegex(@"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\z")]
    private static partial Regex HostNamePattern();

    [GeneratedRegex(@"^[A-Za-z0-9_.-]+\z")]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_-]+\z")]
    private static partial Regex InterfaceChars();
}
