using Felix.Dataplane.Iptables;

namespace Felix.Agent.Policy;

/// <summary>
/// The rules that recur in every endpoint chain (clear the mark, jump to a profile, return if it
/// accepted), built once per renderer rather than once per endpoint. At 10k endpoints this is most
/// of the rendered rules; sharing the instances keeps the rendered state small, and comparing a
/// re-rendered chain with the one it replaces then mostly meets the same references.
/// </summary>
internal sealed class SharedRules
{
    private readonly PolicyConfig _config;
    private readonly Dictionary<(string ProfileId, PolicyDirection Direction), (IptablesRule Jump, IptablesRule Return)> _profiles = [];

    public SharedRules(PolicyConfig config)
    {
        _config = config;
        ClearMark = new IptablesRule(new SetMarkAction(0, config.AcceptMark), "Start with the accept mark clear");
    }

    public IptablesRule ClearMark { get; }

    public (IptablesRule Jump, IptablesRule Return) Profile(string profileId, PolicyDirection direction)
    {
        if (!_profiles.TryGetValue((profileId, direction), out var rules))
        {
            rules = (
                new IptablesRule(new JumpAction(PolicyNames.ProfileChain(profileId, direction))),
                new IptablesRule(MatchCriteria.Any.Mark(_config.AcceptMark, _config.AcceptMark), IptablesAction.Return,
                    IptablesNames.TruncatedComment($"Return if profile {profileId} accepted")));
            _profiles[(profileId, direction)] = rules;
        }
        return rules;
    }

    /// <summary>Drops a profile's rules once no endpoint can use them, so the cache does not grow forever.</summary>
    public void Forget(string profileId)
    {
        _profiles.Remove((profileId, PolicyDirection.Inbound));
        _profiles.Remove((profileId, PolicyDirection.Outbound));
    }
}
