namespace Felix.Dataplane.Tests.Fakes;

internal enum IpsetVerb
{
    Create,
    Add,
    Del,
    Destroy,
    Flush,
    Rename,
    Swap,
    List,
    Save,
    Restore,
}

/// <summary>The options list and save read; <see cref="Output"/> is "plain" or "save" when given.</summary>
internal sealed record IpsetListOptions(bool NamesOnly, bool Terse, string? Output);

/// <summary>One parsed command: an argv or a restore line.</summary>
internal sealed record IpsetInvocation(IpsetVerb Verb, IReadOnlyList<string> Arguments, bool Exist, IpsetListOptions List, IpsetCreateRequest? Create);

/// <summary>
/// The tool's command-line grammar (ipset 7.17), shared by argv and restore lines: which words are
/// options, how many arguments each command takes, and the usage and syntax errors it gives for
/// the rest. Only <c>-exist</c>/<c>-!</c> is an option on a restore line.
/// </summary>
internal static class FakeIpsetCommandLine
{
    private static readonly Dictionary<string, IpsetVerb> Verbs = new(StringComparer.Ordinal)
    {
        ["create"] = IpsetVerb.Create,
        ["add"] = IpsetVerb.Add,
        ["del"] = IpsetVerb.Del,
        ["destroy"] = IpsetVerb.Destroy,
        ["flush"] = IpsetVerb.Flush,
        ["rename"] = IpsetVerb.Rename,
        ["swap"] = IpsetVerb.Swap,
        ["list"] = IpsetVerb.List,
        ["save"] = IpsetVerb.Save,
        ["restore"] = IpsetVerb.Restore,
    };

    /// <summary>Commands and aliases the real tool has that the fake leaves out.</summary>
    private static readonly HashSet<string> OtherCommands =
    [
        "test", "help", "version", "n", "-N", "a", "-A", "d", "-D", "t", "-T", "x", "-X", "f", "-F",
        "e", "-E", "w", "-W", "l", "-L", "s", "-S", "r", "-R", "h", "-H", "v", "-V",
    ];

    private static readonly HashSet<string> OtherTypes =
    [
        "bitmap:ip", "bitmap:ip,mac", "bitmap:port", "hash:mac", "hash:ip,mac", "hash:ip,mark", "hash:ip,port,ip",
        "hash:ip,port,net", "hash:net,port", "hash:net,net", "hash:net,port,net", "hash:net,iface",
    ];

    /// <summary>Create and element options the real tool knows that the fake does not keep.</summary>
    private static readonly HashSet<string> OtherOptions =
    [
        "timeout", "counters", "comment", "skbinfo", "forceadd", "netmask", "markmask", "bitmask", "packets", "bytes",
        "skbmark", "skbprio", "skbqueue", "nomatch", "before", "after",
    ];

    /// <param name="words">The argv after the program name, or a restore line split at blanks.</param>
    /// <param name="restoreLine">True for a restore line, where list/save/restore cannot appear.</param>
    public static IpsetInvocation Parse(IReadOnlyList<string> words, bool restoreLine)
    {
        bool exist = false, namesOnly = false, terse = false;
        string? output = null;
        var positional = new List<string>();
        for (var i = 0; i < words.Count; i++)
        {
            switch (words[i])
            {
                case "-exist" or "-!":
                    exist = true;
                    break;
                case "-n" or "-name" when !restoreLine:
                    namesOnly = true;
                    break;
                case "-t" or "-terse" when !restoreLine:
                    terse = true;
                    break;
                case "-s" or "-sorted" when !restoreLine:
                    // The fake always prints members in one fixed order.
                    break;
                case "-o" or "-output" when !restoreLine:
                    output = i + 1 < words.Count ? words[++i] : throw new IpsetUsageError($"Missing mandatory argument to option {words[i]}");
                    output = output is "plain" or "save" ? output : throw new IpsetNotModelled($"list output format '{output}'");
                    break;
                case "-q" or "-quiet" or "-r" or "-resolve" or "-f" or "-file" when !restoreLine:
                    throw new IpsetNotModelled($"the option {words[i]}");
                default:
                    positional.Add(words[i]);
                    break;
            }
        }
        if (positional.Count == 0)
        {
            throw new IpsetUsageError("No command specified.");
        }
        var command = positional[0];
        if (!Verbs.TryGetValue(command, out var verb) || (restoreLine && verb is IpsetVerb.List or IpsetVerb.Save or IpsetVerb.Restore))
        {
            throw OtherCommands.Contains(command) || Verbs.ContainsKey(command)
                ? new IpsetNotModelled($"the command '{command}'{(restoreLine ? " in restore input" : string.Empty)}")
                : new IpsetUsageError($"No command specified: unknown argument {command}");
        }
        var arguments = positional.Skip(1).ToList();
        var create = verb switch
        {
            IpsetVerb.Create => ParseCreate(arguments),
            IpsetVerb.Add or IpsetVerb.Del => CheckElementCommand(command, arguments),
            IpsetVerb.Rename or IpsetVerb.Swap => CheckNames(command, arguments, 2),
            IpsetVerb.Restore => CheckNames(command, arguments, 0),
            _ => CheckNames(command, arguments, 1, optional: true),
        };
        return new IpsetInvocation(verb, arguments, exist, new IpsetListOptions(namesOnly, terse, output), create);
    }

    /// <summary>strtoul with base 0, as the tool reads numbers: 0x… hex, 0… octal, else decimal.</summary>
    public static long ParseNumber(string text)
    {
        var (digits, radix) = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? (text[2..], 16)
            : text.Length > 1 && text[0] == '0' ? (text[1..], 8)
            : (text, 10);
        ulong value = 0;
        var overflow = false;
        foreach (var c in digits)
        {
            var digit = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiHexDigit(c) ? char.ToLowerInvariant(c) - 'a' + 10 : radix;
            if (digit >= radix)
            {
                throw IpsetParseError.Syntax($"'{text}' is invalid as number");
            }
            overflow |= value > (ulong.MaxValue - (ulong)digit) / (ulong)radix;
            value = (value * (ulong)radix) + (ulong)digit;
        }
        if (digits.Length == 0 && radix == 16)
        {
            throw IpsetParseError.Syntax($"'{text}' is invalid as number");
        }
        return overflow || value > uint.MaxValue ? throw IpsetParseError.OutOfRange(text, uint.MaxValue) : (long)value;
    }

    private static IpsetCreateRequest? CheckElementCommand(string command, List<string> arguments)
    {
        CheckNames(command, arguments.Take(1).ToList(), 1);
        if (arguments.Count < 2)
        {
            throw IpsetUsageError.MissingSecond(command);
        }
        if (arguments.Count > 2)
        {
            throw OtherOptions.Contains(arguments[2])
                ? new IpsetNotModelled($"the element option '{arguments[2]}'")
                : IpsetUsageError.UnknownQuoted(arguments[2]);
        }
        return null;
    }

    private static IpsetCreateRequest? CheckNames(string command, List<string> arguments, int count, bool optional = false)
    {
        if (!optional && arguments.Count < count)
        {
            throw arguments.Count == 0 ? IpsetUsageError.MissingFirst(command) : IpsetUsageError.MissingSecond(command);
        }
        if (arguments.Count > count)
        {
            throw IpsetUsageError.Unknown(arguments[count]);
        }
        CheckNameLengths(arguments);
        return null;
    }

    private static void CheckNameLengths(IEnumerable<string> names)
    {
        if (names.FirstOrDefault(name => name.Length > 31) is { } tooLong)
        {
            throw IpsetParseError.NameTooLong(tooLong);
        }
    }

    private static IpsetCreateRequest ParseCreate(List<string> arguments)
    {
        if (arguments.Count < 2)
        {
            throw arguments.Count == 0 ? IpsetUsageError.MissingFirst("create") : IpsetUsageError.MissingSecond("create");
        }
        CheckNameLengths(arguments.Take(1));
        var typeName = arguments[1];
        if (!IpsetKinds.TryParse(typeName, out var kind))
        {
            throw OtherTypes.Contains(typeName)
                ? new IpsetNotModelled($"the set type {typeName}")
                : IpsetParseError.Syntax($"typename '{typeName}' is unknown");
        }
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        IpVersion? family = null;
        for (var i = 2; i < arguments.Count; i++)
        {
            var option = arguments[i];
            var slot = option is "-4" or "-6" or "family" ? "family" : option;
            var known = kind == IpsetKind.ListSet ? slot is "size" : slot is "family" or "hashsize" or "maxelem" or "bucketsize" or "initval";
            if (!known)
            {
                throw OtherOptions.Contains(option) ? new IpsetNotModelled($"the create option '{option}'") : IpsetUsageError.UnknownQuoted(option);
            }
            if ((slot == "family" && family is not null) || values.ContainsKey(slot))
            {
                throw IpsetParseError.Syntax($"{option} already specified");
            }
            if (option is "-4" or "-6")
            {
                family = option == "-4" ? IpVersion.V4 : IpVersion.V6;
                continue;
            }
            var value = ++i < arguments.Count ? arguments[i] : throw new IpsetUsageError($"Missing mandatory argument of option `{option}'");
            if (slot == "family")
            {
                family = value switch
                {
                    "inet" or "ipv4" => IpVersion.V4,
                    "inet6" or "ipv6" => IpVersion.V6,
                    _ => throw IpsetParseError.Syntax($"unknown inet family {value}"),
                };
                continue;
            }
            values[slot] = ParseNumber(value);
        }
        long? Value(string key) => values.TryGetValue(key, out var value) ? value : null;
        return new IpsetCreateRequest(arguments[0], kind, family ?? IpVersion.V4, Value("hashsize"), Value("maxelem"), Value("bucketsize"),
            Value("initval"), Value("size"));
    }

    /// <summary>A restore line's words: the tool splits at any blank, carriage returns included.</summary>
    public static string[] Split(string line) =>
        line.Split([' ', '\t', '\r', '\v', '\f'], StringSplitOptions.RemoveEmptyEntries);
}
