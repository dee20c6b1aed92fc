namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// Direct access to the sets, for a test to set up the host's starting state or to play another
/// process. Changes go through the same kernel rules as the tool's; where the tool would fail,
/// these throw <see cref="InvalidOperationException"/> with the tool's message.
/// </summary>
public sealed partial class FakeIpset
{
    /// <param name="type"><c>hash:ip</c>, <c>hash:net</c>, <c>hash:ip,port</c> or <c>list:set</c>.</param>
    /// <param name="family">Ignored for list:set.</param>
    public void CreateSet(string name, string type = "hash:ip", IpVersion family = IpVersion.V4, long hashSize = FakeIpsetKernel.DefaultHashSize,
        long maxElem = FakeIpsetKernel.DefaultMaxElem)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!IpsetKinds.TryParse(type, out var kind))
        {
            throw new ArgumentException($"'{type}' is not a set type the fake keeps", nameof(type));
        }
        if (name.Length > 31)
        {
            throw new InvalidOperationException(IpsetParseError.NameTooLong(name).Message);
        }
        Apply(kernel => kernel.Create(new IpsetCreateRequest(name, kind, family, hashSize, maxElem, null, null, null), exist: false));
    }

    /// <summary>Adds as <c>ipset add NAME MEMBER</c> does: a CIDR or range of hash:ip adds every address in it.</summary>
    public void AddMember(string name, string member) =>
        Apply(kernel => kernel.Add(SetOrThrow(kernel, name), FakeIpsetElements.Parse(SetOrThrow(kernel, name), member), exist: false));

    public void DeleteMember(string name, string member) =>
        Apply(kernel => kernel.Delete(SetOrThrow(kernel, name), FakeIpsetElements.Parse(SetOrThrow(kernel, name), member), exist: false));

    public void FlushSet(string name) => Apply(kernel => kernel.Flush(name));

    /// <summary>Destroys as <c>ipset destroy NAME</c> does: not while anything references the set.</summary>
    public void DestroySet(string name) => Apply(kernel => kernel.Destroy(name, exist: false));

    /// <summary>
    /// Declares that <paramref name="count"/> kernel users (iptables rules with <c>--match-set</c>)
    /// hold the set, so the kernel refuses to destroy or rename it; list:set members add to this.
    /// </summary>
    public void SetReferences(string name, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Apply(kernel => SetOrThrow(kernel, name).ExternalReferences = count);
    }

    /// <summary>What <c>References:</c> in <c>ipset list</c> shows; null when there is no such set.</summary>
    public int? References(string name)
    {
        lock (_gate)
        {
            return _kernel.Find(name)?.References;
        }
    }

    /// <summary>The members as save prints them (address text, <c>/prefix</c> only for hash:net non-hosts), or null when there is no such set.</summary>
    public IReadOnlyList<string>? Members(string name)
    {
        lock (_gate)
        {
            return _kernel.Find(name)?.MemberTexts.ToList();
        }
    }

    public bool Exists(string name)
    {
        lock (_gate)
        {
            return _kernel.Find(name) is not null;
        }
    }

    /// <summary>Every set's name, in the order <c>ipset list -n</c> prints them.</summary>
    public IReadOnlyList<string> SetNames()
    {
        lock (_gate)
        {
            return [.. _kernel.Sets.Select(set => set.Name)];
        }
    }

    public FakeIpsetSetInfo? Describe(string name)
    {
        lock (_gate)
        {
            return _kernel.Find(name) is not { } set
                ? null
                : new FakeIpsetSetInfo(set.Name, set.TypeName, set.Kind == IpsetKind.ListSet ? null : set.Family, set.Contents.HashSize,
                    set.Contents.MaxElem, set.References, [.. set.MemberTexts]);
        }
    }

    /// <summary>Exactly what <c>ipset save</c> prints now.</summary>
    public string Snapshot()
    {
        lock (_gate)
        {
            return FakeIpsetOutput.Save(_kernel.Sets);
        }
    }

    private static FakeIpsetSet SetOrThrow(FakeIpsetKernel kernel, string name) => kernel.Find(name) ?? throw IpsetKernelError.NoSuchSet();

    private void Apply(Action<FakeIpsetKernel> change)
    {
        lock (_gate)
        {
            try
            {
                change(_kernel);
            }
            catch (IpsetFailure failure)
            {
                throw new InvalidOperationException(failure.Message, failure);
            }
        }
    }
}
