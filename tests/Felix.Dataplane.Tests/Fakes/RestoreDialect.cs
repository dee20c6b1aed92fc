using System.Globalization;
using System.Text;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>A restore that stops: the exit code and stderr the real tool would give.</summary>
internal sealed class RestoreFailure : Exception
{
    public RestoreFailure(int exitCode, string standardError)
        : base(standardError)
    {
        ExitCode = exitCode;
        StandardError = standardError;
    }

    public RestoreFailure()
    {
        StandardError = string.Empty;
    }

    public RestoreFailure(string message, Exception innerException)
        : base(message, innerException)
    {
        StandardError = message;
    }

    public int ExitCode { get; }

    public string StandardError { get; }
}

/// <summary>Why a command failed, as nft words it after "line N failed: " (legacy prints no reason).</summary>
internal enum OperationError
{
    NoChain,
    InsertIndex,
    ReplaceIndex,
    DeleteIndex,
    NoMatchingRule,
    ChainExists,
    BadPolicy,
}

/// <summary>
/// How one backend's restore tool words its failures (iptables 1.8.9, checked against the real tools
/// in a network namespace). Every message names a line the way the production code will parse it:
/// "Error occurred at line: N" (parse errors, exit 2), "line N failed" (a command the table refused,
/// exit 1; nft appends the reason), "line N: RULE_APPEND failed (...)" (nft, refused by the kernel,
/// exit 4). Legacy names the program <c>iptables-restore</c>/<c>ip6tables-restore</c> whatever it was
/// invoked as; nft uses the name it was invoked by.
/// </summary>
/// <param name="backend">The backend whose wording to use.</param>
/// <param name="family">The family the tool was run for.</param>
/// <param name="invokedName">The program's file name, without directories.</param>
/// <param name="argv0">The program as it was run, path included: getopt's own messages show it.</param>
internal sealed class RestoreDialect(FakeIptablesBackend backend, IpVersion family, string invokedName, string argv0)
{
    public FakeIptablesBackend Backend { get; } = backend;

    public IpVersion Family { get; } = family;

    public bool IsNft => Backend == FakeIptablesBackend.Nft;

    public string Program { get; } = backend == FakeIptablesBackend.Legacy
        ? (family == IpVersion.V6 ? "ip6tables-restore" : "iptables-restore")
        : invokedName;

    private string Prefix => $"{Program} v1.8.9 ({(IsNft ? "nf_tables" : "legacy")}): ";

    public RestoreFailure Parameter(int line, ParameterProblemException problem) =>
        Parameter(line, problem.Message, problem.Prefixed);

    public RestoreFailure Parameter(int line, string message, bool prefixed = true) =>
        new(2, $"{(prefixed ? Prefix : string.Empty)}{message}\nError occurred at line: {N(line)}\n"
            + $"Try `{Program} -h' or '{Program} --help' for more information.\n");

    public RestoreFailure LineFailed(int line, OperationError? error = null) =>
        new(1, IsNft && error is { } reason
            ? $"{Program}: line {N(line)} failed: {Reason(reason)}.\n"
            : $"{Program}: line {N(line)} failed\n");

    /// <summary>Legacy's refusal of a chain declaration's policy; it has no "Error occurred" line.</summary>
    public RestoreFailure Policy(int line, string policy, string chain, string reason) =>
        new(1, $"{Prefix}Can't set policy `{policy}' on `{chain}' line {N(line)}: {reason}\n");

    public RestoreFailure CommitExpected(int line) => new(1, $"{Program}: COMMIT expected at line {N(line)}\n");

    /// <summary>nft's batch refused by the kernel: one line per refused object, after a bare prefix line.</summary>
    public RestoreFailure Kernel(IEnumerable<string> errors)
    {
        var text = new StringBuilder(Prefix).Append('\n');
        foreach (var error in errors)
        {
            text.Append(error).Append('\n');
        }
        return new RestoreFailure(4, text.ToString());
    }

    public RestoreFailure UnknownOption(string option) =>
        new(1, (option.StartsWith("--", StringComparison.Ordinal)
                ? $"{argv0}: unrecognized option '{option}'\n"
                : $"{argv0}: invalid option -- '{option.TrimStart('-')}'\n")
            + $"Try `{Program} -h' for more information.\n");

    /// <summary>A missing jump target: legacy names the rule's line, nft the COMMIT line (it resolves jumps when it commits).</summary>
    public string MissingTarget(string target, bool isGoto) => IsNft
        ? $"Chain '{target}' does not exist"
        : isGoto
            ? $"goto '{target}' is not a chain"
            : $"Couldn't load target `{target}':No such file or directory\n";

    public string ChainNameTooLong(string chain, bool declaration) => declaration && !IsNft
        ? $"Invalid chain name `{chain}' ({RuleSpec.MaxNameLength} chars max)"
        : $"chain name `{chain}' too long (must be under {RuleSpec.MaxNameLength + 1} chars)";

    private static string Reason(OperationError error) => error switch
    {
        OperationError.NoChain => "No chain/target/match by that name",
        OperationError.InsertIndex => "Index of insertion too big",
        OperationError.ReplaceIndex => "Index of replacement too big",
        OperationError.DeleteIndex => "Index of deletion too big",
        OperationError.NoMatchingRule => "Bad rule (does a matching rule exist in that chain?)",
        OperationError.ChainExists => "Chain already exists",
        OperationError.BadPolicy => "Bad policy name",
        _ => throw new ArgumentOutOfRangeException(nameof(error), error, null),
    };

    private static string N(int line) => line.ToString(CultureInfo.InvariantCulture);
}
