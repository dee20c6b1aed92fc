using Felix.Agent.Calculation;
using Felix.Dataplane.Netlink;

namespace Felix.Agent.Dataplane;

/// <summary>What the driver's loop is told, in order, through its one input channel.</summary>
public abstract record DriverInput
{
    private protected DriverInput()
    {
    }
}

/// <summary>One flush of the calculation: the changes one datastore batch made to the dataplane's state.</summary>
public sealed record CalculatedBatch(IReadOnlyList<DataplaneUpdate> Updates) : DriverInput;

/// <summary>A link appeared, changed or went (from the netlink event socket).</summary>
public sealed record LinkChanged(LinkEvent Event) : DriverInput;
