namespace Felix.Dataplane;

/// <summary>A port or an inclusive range of ports, <c>First &lt;= Last</c>.</summary>
public readonly record struct PortRange(ushort First, ushort Last)
{
    public PortRange(ushort port)
        : this(port, port)
    {
    }

    /// <summary>Slots the range takes in a multiport match: the kernel stores a range as two ports.</summary>
    public int MultiportSlots => First == Last ? 1 : 2;

    /// <summary>The iptables spelling: <c>80</c> or <c>8000:8080</c>.</summary>
    public override string ToString() => First == Last ? $"{First}" : $"{First}:{Last}";
}
