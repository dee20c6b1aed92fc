namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// Why an ipset command failed, in the three ways the real tool (ipset 7.17) reports failures; the
/// texts are the tool's, byte for byte. Where a failure comes from decides what a restore loses: a
/// usage or parse error is found before anything of the line reaches the kernel, so the add/del
/// lines still buffered for the kernel are dropped with it; a kernel error comes back for a line
/// that was sent, after the lines sent with it before it were applied.
/// </summary>
internal abstract class IpsetFailure(string message) : Exception(message)
{
    public const string Version = "ipset v7.17";

    public abstract int ExitCode { get; }

    /// <summary>The stderr of the failed run; <paramref name="line"/> is the restore line (1-based), null outside restore.</summary>
    public abstract string Render(int? line);
}

/// <summary>A malformed command line: exit 2, never a line number, and a pointer to the help.</summary>
internal sealed class IpsetUsageError(string message) : IpsetFailure(message)
{
    public override int ExitCode => 2;

    public override string Render(int? line) => $"{Version}: {Message}\nTry `ipset help' for more information.\n";

    public static IpsetUsageError MissingFirst(string command) => new($"Missing mandatory argument to command {command}");

    public static IpsetUsageError MissingSecond(string command) => new($"Missing second mandatory argument to command {command}");

    /// <summary>An extra word after add/del/create arguments: the tool quotes it.</summary>
    public static IpsetUsageError UnknownQuoted(string argument) => new($"Unknown argument: `{argument}'");

    /// <summary>An extra word after destroy/flush/rename/swap/list/save/restore arguments: unquoted.</summary>
    public static IpsetUsageError Unknown(string argument) => new($"Unknown argument {argument}");
}

/// <summary>
/// A failure found by the tool itself before the kernel is asked (exit 1). A few messages (a bad
/// port) are printed by the parser directly, without the restore line number.
/// </summary>
internal sealed class IpsetParseError(string message, bool withLine = true) : IpsetFailure(message)
{
    public override int ExitCode => 1;

    public override string Render(int? line) =>
        line is { } n && withLine ? $"{Version}: Error in line {n}: {Message}\n" : $"{Version}: {Message}\n";

    public static IpsetParseError Syntax(string detail) => new($"Syntax error: {detail}");

    /// <summary>add/del look the set's type up before they can parse the element.</summary>
    public static IpsetParseError NoSuchSet() => new(IpsetKernelError.NoSuchSetText);

    public static IpsetParseError NameTooLong(string name) => Syntax($"setname '{name}' is longer than 31 characters");

    public static IpsetParseError OutOfRange(string text, ulong max) => Syntax($"'{text}' is out of range 0-{max}");
}

/// <summary>What the kernel refused (exit 1); lines sent before the refused one stay applied.</summary>
internal sealed class IpsetKernelError(string message) : IpsetFailure(message)
{
    public const string NoSuchSetText = "The set with the given name does not exist";

    public override int ExitCode => 1;

    public override string Render(int? line) => line is { } n ? $"{Version}: Error in line {n}: {Message}\n" : $"{Version}: {Message}\n";

    public static IpsetKernelError NoSuchSet() => new(NoSuchSetText);

    public static IpsetKernelError SetExists() => new("Set cannot be created: set with the same name already exists");

    public static IpsetKernelError AlreadyAdded() => new("Element cannot be added to the set: it's already added");

    public static IpsetKernelError NotAdded() => new("Element cannot be deleted from the set: it's not added");

    public static IpsetKernelError HashFull() => new("Hash is full, cannot add more elements");

    public static IpsetKernelError InUseByKernel() => new("Set cannot be destroyed: it is in use by a kernel component");

    public static IpsetKernelError RenameInUse() => new("Set cannot be renamed: it is in use by another system");

    public static IpsetKernelError RenameTargetExists() => new("Set cannot be renamed: a set with the new name already exists");

    public static IpsetKernelError SwapTypeMismatch() => new("The sets cannot be swapped: their type does not match");

    public static IpsetKernelError SwapSecondMissing() => new("Sets cannot be swapped: the second set does not exist");

    public static IpsetKernelError InvalidCidr() => new("The value of the CIDR parameter of the IP address is invalid");

    public static IpsetKernelError NullElement() => new("Null-valued element, cannot be stored in a hash type of set");

    public static IpsetKernelError MemberSetMissing() => new("Set to be added/deleted/tested as element does not exist.");

    public static IpsetKernelError ListInList() => new("Sets with list:set type cannot be added to the set.");

    public static IpsetKernelError OutOfMemory() => new("Kernel error received: Cannot allocate memory");

    /// <summary>An element of the other family than the set's, which only a stale restore cache can send.</summary>
    public static IpsetKernelError ProtocolError() => new("Kernel error received: ipset protocol error");

    public static IpsetKernelError RangeUnsupported() => new("Range is not supported in the \"net\" component of the element");
}

/// <summary>
/// Input the real tool accepts but the fake does not model (timeouts, counters, comments, service
/// names, port ranges, …): exit 2 with a message naming the fake, so a test that strays there fails
/// loudly instead of passing against behaviour nobody checked.
/// </summary>
internal sealed class IpsetNotModelled(string what) : IpsetFailure($"FakeIpset does not model {what}")
{
    public override int ExitCode => 2;

    public override string Render(int? line) => $"{Message}\n";
}
