namespace Felix.Dataplane.Tests.Fakes;

/// <summary>What <c>create</c> asks for; null: the kernel's default.</summary>
internal sealed record IpsetCreateRequest(
    string Name, IpsetKind Kind, IpVersion Family, long? HashSize, long? MaxElem, long? BucketSize, long? InitVal, long? ListSize);

/// <summary>
/// The kernel side of ipset in one network namespace, with the kernel's rules (Linux 6.x): sets live
/// in numbered slots (a new set takes the lowest free one; list and save print by slot, list:set last),
/// a referenced set can be neither destroyed nor renamed, swap exchanges contents but leaves names
/// and references in place, and a CIDR or range element is expanded member by member, stopping at
/// the first failure with the members before it kept. Callers hold the fake's lock.
/// <para>
/// Not modelled: the kernel doubles a hash set's hashsize when a bucket overflows, which depends on
/// its random seed (save then shows the larger hashsize), and an add of a large CIDR or range can
/// overshoot maxelem by a few members; the fake keeps the hashsize and stops at maxelem exactly.
/// </para>
/// </summary>
internal sealed class FakeIpsetKernel
{
    public const long DefaultHashSize = 1024;
    public const long DefaultMaxElem = 65536;

    private readonly List<FakeIpsetSet?> _slots = [];

    /// <summary>In the order the kernel dumps them: by slot, but list:set sets after all others, so a restore of a save creates members first.</summary>
    public IEnumerable<FakeIpsetSet> Sets =>
        _slots.OfType<FakeIpsetSet>().Where(set => set.Kind != IpsetKind.ListSet).Concat(_slots.OfType<FakeIpsetSet>().Where(set => set.Kind == IpsetKind.ListSet));

    public FakeIpsetSet? Find(string name) => Sets.FirstOrDefault(set => set.Name == name);

    /// <summary>
    /// Under <paramref name="exist"/> an existing set of the same type and maxelem (list:set: size)
    /// is accepted unchanged: the kernel compares neither family nor hashsize.
    /// </summary>
    public void Create(IpsetCreateRequest request, bool exist)
    {
        var hashSize = RoundHashSize(request.HashSize ?? DefaultHashSize);
        var contents = new IpsetContents
        {
            HashSize = hashSize,
            MaxElem = request.MaxElem ?? DefaultMaxElem,
            BucketSize = RoundBucketSize(request.BucketSize ?? 12),
            InitVal = (uint)(request.InitVal ?? DefaultInitVal(request.Name)),
            ListSize = (int)Math.Max(4, request.ListSize ?? 8),
        };
        if (Find(request.Name) is { } existing)
        {
            var same = existing.Kind == request.Kind && (request.Kind == IpsetKind.ListSet
                ? existing.Contents.ListSize == contents.ListSize
                : existing.Contents.MaxElem == contents.MaxElem);
            if (exist && same)
            {
                return;
            }
            throw IpsetKernelError.SetExists();
        }
        var set = new FakeIpsetSet(request.Name, request.Kind, request.Family, contents);
        var free = _slots.IndexOf(null);
        if (free < 0)
        {
            _slots.Add(set);
        }
        else
        {
            _slots[free] = set;
        }
    }

    public void Add(FakeIpsetSet set, IpsetElement element, bool exist)
    {
        CheckFamily(set, element);
        if (set.Kind == IpsetKind.ListSet)
        {
            var member = Find(element.SetName!) ?? throw IpsetKernelError.MemberSetMissing();
            if (member.Kind == IpsetKind.ListSet)
            {
                throw IpsetKernelError.ListInList();
            }
            if (set.Contents.SetMembers.Contains(member.Name))
            {
                ThrowUnless(exist, IpsetKernelError.AlreadyAdded());
                return;
            }
            set.Contents.SetMembers.Add(member.Name);
            member.ListReferences++;
            return;
        }
        foreach (var entry in Expand(set, element))
        {
            if (set.Contents.Entries.Contains(entry))
            {
                ThrowUnless(exist, IpsetKernelError.AlreadyAdded());
                continue;
            }
            if (set.Count >= set.Contents.MaxElem)
            {
                throw IpsetKernelError.HashFull();
            }
            set.Contents.Entries.Add(entry);
        }
    }

    public void Delete(FakeIpsetSet set, IpsetElement element, bool exist)
    {
        CheckFamily(set, element);
        if (set.Kind == IpsetKind.ListSet)
        {
            var member = Find(element.SetName!) ?? throw IpsetKernelError.MemberSetMissing();
            // The kernel checks the member's type before looking for it, for del as for add.
            ThrowUnless(member.Kind != IpsetKind.ListSet, IpsetKernelError.ListInList());
            if (!set.Contents.SetMembers.Remove(member.Name))
            {
                ThrowUnless(exist, IpsetKernelError.NotAdded());
                return;
            }
            member.ListReferences--;
            return;
        }
        if (exist && set.Kind == IpsetKind.HashIp && (element.Cidr is not null || element.RangeEnd is not null))
        {
            // Same result as walking the range, without walking 2^31 absent addresses of a /1.
            var (first, last) = HostRange(set.Family, element);
            set.Contents.Entries.RemoveWhere(entry => entry.Address >= first && entry.Address <= last);
            return;
        }
        foreach (var entry in Expand(set, element))
        {
            if (!set.Contents.Entries.Remove(entry))
            {
                ThrowUnless(exist, IpsetKernelError.NotAdded());
            }
        }
    }

    /// <summary>One set, or every set when <paramref name="name"/> is null; a flushed list:set lets go of its members.</summary>
    public void Flush(string? name)
    {
        var targets = name is null ? Sets.ToList() : [Find(name) ?? throw IpsetKernelError.NoSuchSet()];
        foreach (var set in targets)
        {
            Release(set);
            set.Contents.Entries.Clear();
            set.Contents.SetMembers.Clear();
        }
    }

    /// <summary>One set, or all of them at once (none when any is referenced).</summary>
    public void Destroy(string? name, bool exist)
    {
        if (name is null)
        {
            if (Sets.Any(set => set.References > 0))
            {
                throw IpsetKernelError.InUseByKernel();
            }
            _slots.Clear();
            return;
        }
        var target = Find(name);
        if (target is null)
        {
            ThrowUnless(exist, IpsetKernelError.NoSuchSet());
            return;
        }
        if (target.References > 0)
        {
            throw IpsetKernelError.InUseByKernel();
        }
        Release(target);
        _slots[_slots.IndexOf(target)] = null;
    }

    public void Rename(string from, string to)
    {
        var set = Find(from) ?? throw IpsetKernelError.NoSuchSet();
        if (set.References > 0)
        {
            throw IpsetKernelError.RenameInUse();
        }
        if (Find(to) is not null)
        {
            throw IpsetKernelError.RenameTargetExists();
        }
        set.Name = to;
    }

    public void Swap(string from, string to)
    {
        var first = Find(from) ?? throw IpsetKernelError.NoSuchSet();
        var second = Find(to) ?? throw IpsetKernelError.SwapSecondMissing();
        if (first.Kind != second.Kind || first.Family != second.Family)
        {
            throw IpsetKernelError.SwapTypeMismatch();
        }
        (first.Contents, second.Contents) = (second.Contents, first.Contents);
    }

    /// <summary>The kernel's hashsize: at least 64, rounded up to a power of two; 2^31 buckets cannot be allocated.</summary>
    private static long RoundHashSize(long requested)
    {
        var size = 64L;
        while (size < requested)
        {
            size <<= 1;
        }
        return size >= 1L << 31 ? throw IpsetKernelError.OutOfMemory() : size;
    }

    /// <summary>Rounded up to an even number of slots per bucket, between 2 and 12.</summary>
    private static int RoundBucketSize(long requested)
    {
        var size = (int)Math.Clamp(requested, 2, 12);
        return size + (size % 2);
    }

    /// <summary>The kernel picks a random hash seed; the fake derives one from the name (FNV-1a) so output is reproducible.</summary>
    private static uint DefaultInitVal(string name)
    {
        var hash = 2166136261u;
        foreach (var c in name)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return hash;
    }

    private void Release(FakeIpsetSet set)
    {
        foreach (var member in set.Contents.SetMembers)
        {
            Find(member)!.ListReferences--;
        }
    }

    /// <summary>The members one element stands for, in the order the kernel adds them.</summary>
    private static IEnumerable<IpsetEntry> Expand(FakeIpsetSet set, IpsetElement element)
    {
        var family = set.Family;
        var host = FakeIpsetAddress.HostPrefix(family);
        switch (set.Kind)
        {
            case IpsetKind.HashIpPort:
                return [new IpsetEntry(element.Address, host, element.Protocol, element.Port)];
            case IpsetKind.HashNet when element.RangeEnd is not null:
                var (from, to) = Ordered(element.Address, element.RangeEnd.Value);
                return RangeToNets(from, to);
            case IpsetKind.HashNet:
                var prefix = element.Cidr ?? host;
                ThrowUnless(prefix != 0, IpsetKernelError.InvalidCidr());
                return [new IpsetEntry(element.Address & FakeIpsetAddress.Mask(prefix, family), prefix, 0, 0)];
            case IpsetKind.HashIp when family == IpVersion.V4 && (element.Cidr is not null || element.RangeEnd is not null):
                var (first, last) = HostRange(family, element);
                ThrowUnless(first != UInt128.Zero, IpsetKernelError.NullElement());
                return Hosts(first, last);
            default:
                ThrowUnless(element.Address != UInt128.Zero, IpsetKernelError.NullElement());
                return [new IpsetEntry(element.Address, host, 0, 0)];
        }
    }

    private static (UInt128 First, UInt128 Last) HostRange(IpVersion family, IpsetElement element)
    {
        if (element.RangeEnd is { } end)
        {
            return Ordered(element.Address, end);
        }
        var prefix = element.Cidr!.Value;
        ThrowUnless(prefix != 0, IpsetKernelError.InvalidCidr());
        var mask = FakeIpsetAddress.Mask(prefix, family);
        var first = element.Address & mask;
        return (first, first | (FakeIpsetAddress.Mask(FakeIpsetAddress.HostPrefix(family), family) & ~mask));
    }

    /// <summary>
    /// An element parsed for the other family (only a stale restore cache sends one): the IPv6 hash
    /// types refuse a range, and IPv6 hash:ip a CIDR, before they read the address, which fails.
    /// </summary>
    private static void CheckFamily(FakeIpsetSet set, IpsetElement element)
    {
        if (set.Kind == IpsetKind.ListSet || element.Family == set.Family)
        {
            return;
        }
        var v6Hash = set.Family == IpVersion.V6 && set.Kind is IpsetKind.HashIp or IpsetKind.HashNet;
        ThrowUnless(!v6Hash || element.RangeEnd is null, IpsetKernelError.RangeUnsupported());
        ThrowUnless(!v6Hash || set.Kind != IpsetKind.HashIp || element.Cidr is null, IpsetKernelError.InvalidCidr());
        throw IpsetKernelError.ProtocolError();
    }

    /// <summary>Throws <paramref name="error"/> unless the condition holds (e.g. -exist forgives the error).</summary>
    private static void ThrowUnless(bool condition, IpsetKernelError error)
    {
        if (!condition)
        {
            throw error;
        }
    }

    private static (UInt128, UInt128) Ordered(UInt128 a, UInt128 b) => a <= b ? (a, b) : (b, a);

    private static IEnumerable<IpsetEntry> Hosts(UInt128 first, UInt128 last)
    {
        for (var address = first; address <= last; address++)
        {
            yield return new IpsetEntry(address, 32, 0, 0);
        }
    }

    /// <summary>The fewest IPv4 networks covering first..last, lowest first, as the kernel splits a hash:net range.</summary>
    private static IEnumerable<IpsetEntry> RangeToNets(UInt128 first, UInt128 last)
    {
        var address = first;
        while (address <= last)
        {
            var prefix = 32;
            while (prefix > 0)
            {
                var size = UInt128.One << (33 - prefix);
                if ((address & (size - 1)) != 0 || address + size - 1 > last)
                {
                    break;
                }
                prefix--;
            }
            yield return new IpsetEntry(address, prefix, 0, 0);
            address += UInt128.One << (32 - prefix);
        }
    }
}
