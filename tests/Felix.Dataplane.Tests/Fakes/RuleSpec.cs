using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>A rule as stored: the canonical spec and what the validation needs from it.</summary>
internal sealed record ParsedRule(string Spec, string? Target, bool IsGoto, IReadOnlyList<string> Sets, bool NegatesEverything);

/// <summary>A parse error: iptables' xtables_error(PARAMETER_PROBLEM), exit code 2, reported with "Error occurred at line: N".</summary>
internal sealed class ParameterProblemException : Exception
{
    public ParameterProblemException(string message, bool prefixed = true)
        : base(message)
    {
        Prefixed = prefixed;
    }

    public ParameterProblemException()
    {
    }

    public ParameterProblemException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>False for "Bad argument" errors, which both backends print without the "prog vX (backend): " prefix.</summary>
    public bool Prefixed { get; } = true;
}

/// <summary>
/// Splits a restore line the way iptables-restore does and prints a rule back the way iptables-save
/// does, for the parts both backends (1.8.9) agree on and a fake can know without the extensions'
/// code: the IP header options move to the front in the kernel's order (<c>-s -d -i -o -p -f</c>),
/// addresses become <c>network/prefix</c> (and <c>/0</c> disappears), protocol numbers become names,
/// <c>--comment</c>/<c>--log-prefix</c>/<c>--nflog-prefix</c> values are quoted as xtables_save_string
/// quotes them. Every other match and target option is kept as written, so a test must write those in
/// the form iptables-save prints (e.g. <c>--mark 0x1/0x1</c>, <c>-m tcp --dport</c>).
/// </summary>
internal static class RuleSpec
{
    public const int MaxNameLength = 28;

    private static readonly string[] HeaderOrder = ["-s", "-d", "-i", "-o", "-p", "-f"];

    private static readonly Dictionary<string, string> HeaderFlags = new(StringComparer.Ordinal)
    {
        ["-s"] = "-s",
        ["--source"] = "-s",
        ["--src"] = "-s",
        ["-d"] = "-d",
        ["--destination"] = "-d",
        ["--dst"] = "-d",
        ["-i"] = "-i",
        ["--in-interface"] = "-i",
        ["-o"] = "-o",
        ["--out-interface"] = "-o",
        ["-p"] = "-p",
        ["--protocol"] = "-p",
        ["-f"] = "-f",
        ["--fragment"] = "-f",
    };

    private static readonly Dictionary<string, string> Renamed = new(StringComparer.Ordinal)
    {
        ["--jump"] = "-j",
        ["--goto"] = "-g",
        ["--match"] = "-m",
    };

    /// <summary>Options whose value iptables-save prints through xtables_save_string.</summary>
    private static readonly HashSet<string> StringOptions = new(StringComparer.Ordinal) { "--comment", "--log-prefix", "--nflog-prefix" };

    /// <summary>Protocol numbers save prints by name (its own table, then /etc/protocols).</summary>
    private static readonly Dictionary<string, string> ProtocolNames = new(StringComparer.Ordinal)
    {
        ["1"] = "icmp",
        ["2"] = "igmp",
        ["6"] = "tcp",
        ["17"] = "udp",
        ["47"] = "gre",
        ["50"] = "esp",
        ["51"] = "ah",
        ["58"] = "ipv6-icmp",
        ["132"] = "sctp",
        ["136"] = "udplite",
        ["icmpv6"] = "ipv6-icmp",
    };

    /// <summary>
    /// add_param_to_argv: blanks separate arguments; inside double quotes blanks are kept and a backslash
    /// escapes the next character; a closing quote ends the argument even with no blank after it
    /// (<c>ab"cd"ef</c> is <c>abcd</c>, <c>ef</c>). Single quotes are ordinary characters. The real tool
    /// takes an unclosed quote as running to the end of the line, newline included, and so silently
    /// stores garbage; the fake refuses it instead so a quoting bug in the code under test fails loudly.
    /// </summary>
    public static List<string> Tokenize(string line)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        bool quoteOpen = false, escaped = false;
        foreach (var c in line)
        {
            if (quoteOpen)
            {
                if (escaped)
                {
                    current.Append(c);
                    escaped = false;
                }
                else if (c == '\\')
                {
                    escaped = true;
                }
                else if (c == '"')
                {
                    quoteOpen = false;
                    tokens.Add(current.ToString());
                    current.Clear();
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c == '"')
            {
                quoteOpen = true;
            }
            else if (c is ' ' or '\t')
            {
                if (current.Length > 0)
                {
                    tokens.Add(current.ToString());
                    current.Clear();
                }
            }
            else
            {
                current.Append(c);
            }
        }
        if (quoteOpen)
        {
            throw new ParameterProblemException("unbalanced double quote (the real tool would swallow the rest of the line)");
        }
        if (current.Length > 0)
        {
            tokens.Add(current.ToString());
        }
        return tokens;
    }

    /// <summary>xtables_save_string: bare when only <c>[A-Za-z0-9_-]</c>, else quoted with <c>" \ '</c> escaped.</summary>
    public static string SaveString(string value)
    {
        if (value.Length > 0 && value.All(c => c is '_' or '-' || char.IsAsciiLetterOrDigit(c)))
        {
            return value;
        }
        var text = new StringBuilder("\"");
        foreach (var c in value)
        {
            if (c is '"' or '\\' or '\'')
            {
                text.Append('\\');
            }
            text.Append(c);
        }
        return text.Append('"').ToString();
    }

    /// <summary>Whether <paramref name="option"/> takes one free-text value that must not be read as an option.</summary>
    public static bool IsStringOption(string option) => StringOptions.Contains(option);

    /// <summary>The chain or target a stored (canonical) spec jumps or goes to.</summary>
    public static string? TargetOf(string spec) => FindTarget(Tokenize(spec)).Target;

    /// <summary>Parses the rule part of a restore line (command and chain already removed) into its canonical spec.</summary>
    public static ParsedRule Parse(IReadOnlyList<string> tokens, IpVersion family)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var rest = new List<string>();
        var sets = new List<string>();
        var negatesEverything = false;
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            var negated = token == "!" && i + 1 < tokens.Count && HeaderFlags.ContainsKey(tokens[i + 1]);
            if (negated)
            {
                token = tokens[++i];
            }
            if (HeaderFlags.TryGetValue(token, out var flag))
            {
                if (!seen.Add(flag))
                {
                    throw new ParameterProblemException($"multiple {flag} flags not allowed");
                }
                string? value = null;
                if (flag != "-f")
                {
                    if (i + 1 >= tokens.Count)
                    {
                        throw new ParameterProblemException($"option \"{token}\" requires an argument");
                    }
                    value = Header(flag, tokens[++i], family, negated);
                    RefuseStray(tokens, i + 1);
                    negatesEverything |= negated && value is not null && value.EndsWith("/0", StringComparison.Ordinal);
                    if (value is null)
                    {
                        continue;
                    }
                }
                headers[flag] = (negated ? "! " : string.Empty) + flag + (value is null ? string.Empty : " " + value);
                continue;
            }
            token = Renamed.GetValueOrDefault(token, token);
            if (StringOptions.Contains(token) && i + 1 < tokens.Count)
            {
                rest.Add(token);
                rest.Add(SaveString(tokens[++i]));
                RefuseStray(tokens, i + 1);
                continue;
            }
            if (token == "--match-set" && i + 1 < tokens.Count)
            {
                sets.Add(tokens[i + 1]);
            }
            if (token is "-j" or "-g" && i + 1 < tokens.Count && !Targets.HasOptions(tokens[i + 1]))
            {
                RefuseStray(tokens, i + 2);
            }
            rest.Add(token.Length == 0 || token.Any(c => char.IsWhiteSpace(c) || c == '"') ? SaveString(token) : token);
        }
        var spec = string.Join(' ', HeaderOrder.Where(headers.ContainsKey).Select(f => headers[f]).Concat(rest));
        var (target, isGoto) = FindTarget(Tokenize(spec));
        if (target is { Length: > MaxNameLength })
        {
            throw new ParameterProblemException($"Invalid target name `{target}' ({MaxNameLength} chars max)");
        }
        return new ParsedRule(spec, target, isGoto, sets, negatesEverything);
    }

    /// <summary>
    /// getopt leaves a word that no option took as an argument, and both tools refuse it. Only
    /// options of known arity can tell: the header options, the free-text ones, targets without options.
    /// </summary>
    private static void RefuseStray(IReadOnlyList<string> tokens, int index)
    {
        if (index < tokens.Count && tokens[index] != "!" && !tokens[index].StartsWith('-'))
        {
            throw new ParameterProblemException($"Bad argument `{tokens[index]}'", prefixed: false);
        }
    }

    private static (string? Target, bool IsGoto) FindTarget(List<string> tokens)
    {
        for (var i = 0; i < tokens.Count - 1; i++)
        {
            if (StringOptions.Contains(tokens[i]))
            {
                i++;
            }
            else if (tokens[i] is "-j" or "-g")
            {
                return (tokens[i + 1], tokens[i] == "-g");
            }
        }
        return (null, false);
    }

    /// <summary>A header option's value as save prints it; null when save leaves the option out (any address, any protocol).</summary>
    private static string? Header(string flag, string value, IpVersion family, bool negated) => flag switch
    {
        "-s" or "-d" => Address(value, family, negated),
        "-p" => Protocol(value, negated),
        _ => value,
    };

    private static string? Protocol(string value, bool negated)
    {
        var name = value.ToLowerInvariant();
        name = ProtocolNames.GetValueOrDefault(name, name);
        return name is "all" or "0" && !negated ? null : name;
    }

    private static string? Address(string value, IpVersion family, bool negated)
    {
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        var text = slash < 0 ? value : value[..slash];
        var addressFamily = family == IpVersion.V6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
        if (!IPAddress.TryParse(text, out var address) || address.AddressFamily != addressFamily || text.Contains('%', StringComparison.Ordinal))
        {
            throw new ParameterProblemException($"host/network `{text}' not found");
        }
        var bytes = address.GetAddressBytes();
        var bits = bytes.Length * 8;
        var length = slash < 0 ? bits : PrefixLength(value[(slash + 1)..], addressFamily, bits);
        if (length == 0 && !negated)
        {
            return null;
        }
        for (var bit = length; bit < bits; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }
        return $"{new IPAddress(bytes)}/{length.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>A prefix length, or a contiguous mask in address form (<c>255.255.0.0</c>) as the tools accept it.</summary>
    private static int PrefixLength(string mask, AddressFamily addressFamily, int bits)
    {
        if (int.TryParse(mask, NumberStyles.None, CultureInfo.InvariantCulture, out var length) && length <= bits)
        {
            return length;
        }
        if (IPAddress.TryParse(mask, out var maskAddress) && maskAddress.AddressFamily == addressFamily)
        {
            var ones = 0;
            var seenZero = false;
            foreach (var b in maskAddress.GetAddressBytes())
            {
                for (var bit = 7; bit >= 0; bit--)
                {
                    var set = (b >> bit & 1) == 1;
                    if (set && seenZero)
                    {
                        throw new ParameterProblemException($"invalid mask `{mask}' specified");
                    }
                    ones += set ? 1 : 0;
                    seenZero |= !set;
                }
            }
            return ones;
        }
        throw new ParameterProblemException($"invalid mask `{mask}' specified");
    }
}
