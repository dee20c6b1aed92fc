using Felix.Agent.Calculation;
using Felix.Agent.Policy;
using Felix.Dataplane.Iptables;

namespace Felix.Agent.Dataplane;

/// <summary>
/// The felix chains of one IP family: updates go to that family's <see cref="PolicyRenderer"/>
/// (which only records what they affect); the deferred work renders the affected chains and hands
/// the ones that really changed to the filter and nat <see cref="IptablesTable"/>s, which record
/// them for their next restore. The hooks into the built-in chains are set once, here.
/// </summary>
internal sealed class PolicyManager : IDataplaneManager
{
    private readonly PolicyRenderer _renderer;
    private readonly IptablesTable _filter;
    private readonly IptablesTable _nat;

    public PolicyManager(PolicyRenderer renderer, IptablesTable filter, IptablesTable nat)
    {
        if (filter.Table != TableName.Filter || nat.Table != TableName.Nat || filter.Version != renderer.Version || nat.Version != renderer.Version)
        {
            throw new ArgumentException("the tables must be the filter and nat tables of the renderer's IP family");
        }
        _renderer = renderer;
        _filter = filter;
        _nat = nat;
        _filter.SetHooks(PolicyRenderer.Hooks(TableName.Filter));
        _nat.SetHooks(PolicyRenderer.Hooks(TableName.Nat));
    }

    /// <summary>Chains rendered by the last deferred work, changed or not: how much work an update cost.</summary>
    public int LastChainsRendered { get; private set; }

    public void OnUpdate(DataplaneUpdate update) => _renderer.OnUpdate(update);

    public void CompleteDeferredWork()
    {
        var changes = _renderer.Render();
        LastChainsRendered = changes.ChainsRendered;
        Hand(changes.Filter, _filter);
        Hand(changes.Nat, _nat);
    }

    private static void Hand(TableChanges changes, IptablesTable table)
    {
        foreach (var chain in changes.Updated)
        {
            table.SetChain(chain);
        }
        foreach (var name in changes.Removed)
        {
            table.RemoveChain(name);
        }
    }
}
