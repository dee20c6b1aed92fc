using System.Runtime.InteropServices;
using Felix.Agent.Model;

namespace Felix.Agent.Calculation;

/// <summary>
/// The profile side of <see cref="CalculationGraph"/>'s input: which profiles are active (a local
/// endpoint lists them), which tags are active (a rule of an active profile names them), and how
/// a change to a profile's tags moves the IPs of the active endpoints using it in or out of the
/// tag's sets, touching only those endpoints.
/// </summary>
public sealed partial class CalculationGraph
{
    private void AdjustLocalProfileRef(string profile, int sign)
    {
        ref var count = ref CollectionsMarshal.GetValueRefOrAddDefault(_localProfileRefs, profile, out _);
        var before = count;
        count += sign;
        var after = count;
        if (after == 0)
        {
            _localProfileRefs.Remove(profile);
        }
        if ((before == 0) != (after == 0))
        {
            _dirtyProfiles.Add(profile);
            AdjustRuleTags(_rules.GetValueOrDefault(profile), sign);
        }
    }

    private void SetRules(string profile, ProfileRules? rules)
    {
        var old = _rules.GetValueOrDefault(profile);
        if (Equals(old, rules))
        {
            return;
        }
        if (_localProfileRefs.ContainsKey(profile))
        {
            AdjustRuleTags(rules, +1);
            AdjustRuleTags(old, -1);
            _dirtyProfiles.Add(profile);
        }
        if (rules is null)
        {
            _rules.Remove(profile);
        }
        else
        {
            _rules[profile] = rules;
        }
    }

    private void AdjustRuleTags(ProfileRules? rules, int sign)
    {
        foreach (var tag in RuleTags(rules))
        {
            ref var count = ref CollectionsMarshal.GetValueRefOrAddDefault(_activeTagRefs, tag, out _);
            var before = count;
            count += sign;
            if (count == 0)
            {
                _activeTagRefs.Remove(tag);
            }
            if (before == 0 || count == 0)
            {
                _dirtyTags.Add(tag);
            }
        }
    }

    private static IEnumerable<string> RuleTags(ProfileRules? rules)
    {
        if (rules is null)
        {
            return [];
        }
        return rules.Inbound.Concat(rules.Outbound)
            .SelectMany(r => new[] { r.Match.SrcTag, r.Match.DstTag, r.NotMatch.SrcTag, r.NotMatch.DstTag })
            .OfType<string>()
            .Distinct(StringComparer.Ordinal);
    }

    private void SetTags(string profile, string[] tags)
    {
        var old = _tags.GetValueOrDefault(profile) ?? [];
        if (old.AsSpan().SequenceEqual(tags))
        {
            return;
        }
        if (_activeEndpointsByProfile.TryGetValue(profile, out var users))
        {
            var added = tags.Except(old, StringComparer.Ordinal).ToArray();
            var removed = old.Except(tags, StringComparer.Ordinal).ToArray();
            foreach (var key in users)
            {
                var endpoint = _endpoints[key];
                foreach (var tag in added)
                {
                    AdjustMembers(tag, endpoint, +1);
                }
                foreach (var tag in removed)
                {
                    AdjustMembers(tag, endpoint, -1);
                }
            }
        }
        if (tags.Length == 0)
        {
            _tags.Remove(profile);
        }
        else
        {
            _tags[profile] = tags;
        }
    }
}
