namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// Runs one ipset command line (<c>ipset create …</c>, <c>ipset list -n</c>, <c>ipset restore</c>, …)
/// against the kernel: what it prints, its exit code and its stderr, which outside restore carries no
/// line number.
/// </summary>
internal static class FakeIpsetCommands
{
    public static (int ExitCode, string StandardOutput, string StandardError) Run(FakeIpsetKernel kernel, IReadOnlyList<string> arguments, string? input)
    {
        try
        {
            var invocation = FakeIpsetCommandLine.Parse(arguments, restoreLine: false);
            switch (invocation.Verb)
            {
                case IpsetVerb.Restore:
                    var (exitCode, stderr) = new FakeIpsetRestore(kernel, invocation.Exist).Run(input ?? string.Empty);
                    return (exitCode, string.Empty, stderr);
                case IpsetVerb.List or IpsetVerb.Save:
                    var sets = invocation.Arguments.Count == 0
                        ? kernel.Sets
                        : [kernel.Find(invocation.Arguments[0]) ?? throw IpsetKernelError.NoSuchSet()];
                    var output = invocation.Verb == IpsetVerb.Save ? FakeIpsetOutput.Save(sets) : FakeIpsetOutput.List(sets, invocation.List);
                    return (0, output, string.Empty);
                case IpsetVerb.Add or IpsetVerb.Del:
                    var set = kernel.Find(invocation.Arguments[0]) ?? throw IpsetParseError.NoSuchSet();
                    var element = FakeIpsetElements.Parse(set, invocation.Arguments[1]);
                    if (invocation.Verb == IpsetVerb.Add)
                    {
                        kernel.Add(set, element, invocation.Exist);
                    }
                    else
                    {
                        kernel.Delete(set, element, invocation.Exist);
                    }
                    return (0, string.Empty, string.Empty);
                default:
                    Execute(kernel, invocation, invocation.Exist);
                    return (0, string.Empty, string.Empty);
            }
        }
        catch (IpsetFailure failure)
        {
            return (failure.ExitCode, string.Empty, failure.Render(null));
        }
    }

    /// <summary>create, destroy, flush, rename or swap: one kernel request, whole or not at all.</summary>
    public static void Execute(FakeIpsetKernel kernel, IpsetInvocation invocation, bool exist)
    {
        var arguments = invocation.Arguments;
        var name = arguments.Count > 0 ? arguments[0] : null;
        switch (invocation.Verb)
        {
            case IpsetVerb.Create:
                kernel.Create(invocation.Create!, exist);
                break;
            case IpsetVerb.Destroy:
                kernel.Destroy(name, exist);
                break;
            case IpsetVerb.Flush:
                kernel.Flush(name);
                break;
            case IpsetVerb.Rename:
                kernel.Rename(arguments[0], arguments[1]);
                break;
            case IpsetVerb.Swap:
                kernel.Swap(arguments[0], arguments[1]);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(invocation), invocation.Verb, "not a single kernel request");
        }
    }
}
