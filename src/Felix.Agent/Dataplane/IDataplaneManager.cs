using Felix.Agent.Calculation;

namespace Felix.Agent.Dataplane;

/// <summary>
/// One slice of the dataplane's desired state. <see cref="OnUpdate"/> only records (no I/O, no
/// rendering): a burst of updates costs memory writes, and the work they imply is done once, in
/// <see cref="CompleteDeferredWork"/>, just before the apply step hands the result to the kernel
/// objects. Every manager sees every update and says explicitly which kinds it ignores.
/// </summary>
internal interface IDataplaneManager
{
    void OnUpdate(DataplaneUpdate update);

    void CompleteDeferredWork();
}
