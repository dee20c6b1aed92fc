namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// One <c>ipset restore</c> run, which is not a transaction. The tool reads a line, parses it, and
/// sends it to the kernel, except that consecutive add (or del) lines for one set are collected into
/// one netlink message of at most a page (4096 bytes) and sent when a line of another kind or set
/// comes, when the message is full, at <c>COMMIT</c> or at the end of the input. Hence (all observed
/// with ipset 7.17 on Linux 6.x):
/// <list type="bullet">
/// <item>the first error ends the run; everything sent before it stays applied, including the
/// lines of the failing message before the failing element;</item>
/// <item>a line the tool itself rejects (a syntax error, an add to a missing set, a usage error)
/// also drops the collected lines not yet sent, and so does <c>quit</c>;</item>
/// <item><c>-exist</c> on a line stays in force for the rest of the run, but a message is sent
/// with the flag as it was when its first line was read;</item>
/// <item>the tool remembers the family each <c>create</c> of the run named and parses later elements
/// of that set for it, even when <c>-exist</c> let the create through for an existing set of the
/// other family, whose kernel then refuses them ("ipset protocol error").</item>
/// </list>
/// Line numbers count every line, blank and comment lines included.
/// </summary>
internal sealed class FakeIpsetRestore(FakeIpsetKernel kernel, bool exist)
{
    private const int MessageCapacity = 4096;

    /// <summary>
    /// Netlink, nfnetlink and ipset headers and attributes of an add/del message besides the set
    /// name and the elements: 60 fits how many elements of each type and name length the real tool
    /// sent per message (e.g. 167 plain IPv4 elements for a one-letter set, 166 for a 31-letter one).
    /// </summary>
    private const int MessageOverhead = 60;

    /// <summary>A list:set message holds a little less; 12 fits the one measurement made (183 short names).</summary>
    private const int ListSetOverhead = 12;

    /// <summary>The tool's cache of sets created in this run: name to the family the create line named.</summary>
    private readonly Dictionary<string, IpVersion> _created = new(StringComparer.Ordinal);

    private bool _exist = exist;
    private Batch? _pending;

    /// <summary>The run's exit code and stderr.</summary>
    public (int ExitCode, string StandardError) Run(string input)
    {
        var lines = input.Split('\n');
        try
        {
            for (var number = 1; number <= lines.Length; number++)
            {
                if (!RunLine(lines[number - 1], number))
                {
                    return (0, string.Empty);
                }
            }
            Commit();
            return (0, string.Empty);
        }
        catch (FailedLine failed)
        {
            return (failed.Failure.ExitCode, failed.Failure.Render(failed.Line));
        }
    }

    /// <summary>False at <c>quit</c>, which ends the run without sending what is collected.</summary>
    private bool RunLine(string line, int number)
    {
        var words = FakeIpsetCommandLine.Split(line);
        if (words.Length == 0 || words[0].StartsWith('#'))
        {
            return true;
        }
        if (words[0] == "COMMIT")
        {
            Commit();
            return true;
        }
        if (words[0] == "quit")
        {
            return false;
        }

        IpsetInvocation invocation;
        FakeIpsetSet? set = null;
        IpsetElement? element = null;
        try
        {
            invocation = FakeIpsetCommandLine.Parse(words, restoreLine: true);
            _exist |= invocation.Exist;
            if (invocation.Verb is IpsetVerb.Add or IpsetVerb.Del)
            {
                set = kernel.Find(invocation.Arguments[0]) ?? throw IpsetParseError.NoSuchSet();
                element = FakeIpsetElements.Parse(set, invocation.Arguments[1], _created.TryGetValue(set.Name, out var family) ? family : null);
            }
        }
        catch (IpsetFailure failure)
        {
            throw new FailedLine(failure, number);
        }

        if (set is null || element is null)
        {
            Commit();
            try
            {
                FakeIpsetCommands.Execute(kernel, invocation, _exist);
            }
            catch (IpsetKernelError failure)
            {
                throw new FailedLine(failure, number);
            }
            Remember(invocation);
            return true;
        }

        var delete = invocation.Verb == IpsetVerb.Del;
        if (_pending is { } open && (open.Delete != delete || open.Set != set.Name || open.Size + element.WireSize > MessageCapacity))
        {
            Commit();
        }
        _pending ??= new Batch(delete, set.Name, _exist,
            MessageOverhead + FakeIpsetElements.NameAttributeSize(set.Name) + (set.Kind == IpsetKind.ListSet ? ListSetOverhead : 0));
        _pending.Add(number, element);
        return true;
    }

    /// <summary>Keeps the tool's cache in step with a create, destroy, rename or swap the kernel carried out.</summary>
    private void Remember(IpsetInvocation invocation)
    {
        var names = invocation.Arguments;
        switch (invocation.Verb)
        {
            case IpsetVerb.Create:
                _created[names[0]] = invocation.Create!.Family;
                break;
            case IpsetVerb.Destroy when names.Count == 0:
                _created.Clear();
                break;
            case IpsetVerb.Destroy:
                _created.Remove(names[0]);
                break;
            case IpsetVerb.Rename when _created.Remove(names[0], out var family):
                _created[names[1]] = family;
                break;
            case IpsetVerb.Swap when _created.TryGetValue(names[0], out var first) && _created.TryGetValue(names[1], out var second):
                (_created[names[0]], _created[names[1]]) = (second, first);
                break;
        }
    }

    /// <summary>Sends the collected message: the kernel applies its elements in order up to the first it refuses.</summary>
    private void Commit()
    {
        if (_pending is not { } batch)
        {
            return;
        }
        _pending = null;
        foreach (var (line, element) in batch.Elements)
        {
            try
            {
                var set = kernel.Find(batch.Set) ?? throw IpsetKernelError.NoSuchSet();
                if (batch.Delete)
                {
                    kernel.Delete(set, element, batch.Exist);
                }
                else
                {
                    kernel.Add(set, element, batch.Exist);
                }
            }
            catch (IpsetKernelError failure)
            {
                throw new FailedLine(failure, line);
            }
        }
    }

    private sealed class Batch(bool delete, string set, bool exist, int headerSize)
    {
        public bool Delete { get; } = delete;

        public string Set { get; } = set;

        public bool Exist { get; } = exist;

        public int Size { get; private set; } = headerSize;

        public List<(int Line, IpsetElement Element)> Elements { get; } = [];

        public void Add(int line, IpsetElement element)
        {
            Elements.Add((line, element));
            Size += element.WireSize;
        }
    }

    /// <summary>Ends the run: the failure and the line it is reported for.</summary>
    private sealed class FailedLine(IpsetFailure failure, int line) : Exception(failure.Message)
    {
        public IpsetFailure Failure { get; } = failure;

        public int Line { get; } = line;
    }
}
