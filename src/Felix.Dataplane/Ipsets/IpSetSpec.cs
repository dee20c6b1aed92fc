using System.Net;
using System.Net.Sockets;
using Felix.Dataplane.Iptables;

namespace Felix.Dataplane.Ipsets;

/// <summary>
/// What a set must be: its name, type and family, and the most members it may hold
/// (MaxIpsetSize, which is also the kernel's <c>maxelem</c>). Members are <see cref="IPNetwork"/>s:
/// host networks (<c>/32</c>, <c>/128</c>) for <c>hash:ip</c>, any non-zero prefix for <c>hash:net</c>.
/// </summary>
public sealed record IpSetSpec
{
    public IpSetSpec(string name, IpSetType type, IpVersion family, int maxSize)
    {
        ArgumentNullException.ThrowIfNull(name);
        IptablesNames.IpSet(name);
        if (!IpSetNames.IsOwned(name) || IpSetNames.IsTemporary(name))
        {
            throw new ArgumentException($"'{name}' is not a name the agent may give a set", nameof(name));
        }
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSize);
        Name = name;
        Type = type;
        Family = family;
        MaxSize = maxSize;
    }

    public string Name { get; }

    public IpSetType Type { get; }

    public IpVersion Family { get; }

    public int MaxSize { get; }

    /// <summary>
    /// Refuses a member the kernel would refuse for this set: another family, a network or the
    /// unspecified address in a <c>hash:ip</c> set, or <c>/0</c> (which <c>hash:net</c> cannot hold). Reaching here with one
    /// is a bug in the caller.
    /// </summary>
    public void Check(IPNetwork member)
    {
        var family = member.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6 ? IpVersion.V6 : IpVersion.V4;
        var hostPrefix = family == IpVersion.V6 ? 128 : 32;
        if (family != Family)
        {
            throw new ArgumentException($"{member} is not an IPv{(int)Family} member of {Name}", nameof(member));
        }
        if (Type == IpSetType.HashIp && member.PrefixLength != hostPrefix)
        {
            throw new ArgumentException($"{member} is a network; {Name} is hash:ip and holds single addresses", nameof(member));
        }
        if (Type == IpSetType.HashIp && (member.BaseAddress.Equals(IPAddress.Any) || member.BaseAddress.Equals(IPAddress.IPv6Any)))
        {
            throw new ArgumentException($"{member} cannot be a member of {Name}: hash:ip does not hold the unspecified address", nameof(member));
        }
        if (member.PrefixLength == 0)
        {
            throw new ArgumentException($"{member} cannot be a member of {Name}: hash:net does not hold /0", nameof(member));
        }
    }

    /// <summary>A single address as a member.</summary>
    public static IPNetwork Host(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32);
    }
}
