using Felix.Agent.Model;

namespace Felix.Agent.Datastore;

/// <summary>How big the cluster is, as far as the delivered data shows.</summary>
public sealed record ClusterCounts(int Hosts, int WorkloadEndpoints, int Profiles);

/// <summary>
/// Keeps <see cref="ClusterCounts"/> up to date as keys are delivered and removed, in O(1) per key:
/// a host counts while it has an endpoint or a host IP, a profile while it has rules or tags.
/// </summary>
internal sealed class ClusterCounter
{
    private readonly Dictionary<string, int> _hostReferences = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _profileReferences = new(StringComparer.Ordinal);
    private int _endpoints;

    public ClusterCounts Counts => new(_hostReferences.Count, _endpoints, _profileReferences.Count);

    public void Added(DatastoreKey key)
    {
        switch (key)
        {
            case WorkloadEndpointKey endpoint:
                _endpoints++;
                Reference(_hostReferences, endpoint.Hostname, +1);
                break;
            case HostIpKey host:
                Reference(_hostReferences, host.Hostname, +1);
                break;
            case ProfileRulesKey rules:
                Reference(_profileReferences, rules.ProfileId, +1);
                break;
            case ProfileTagsKey tags:
                Reference(_profileReferences, tags.ProfileId, +1);
                break;
        }
    }

    public void Removed(DatastoreKey key)
    {
        switch (key)
        {
            case WorkloadEndpointKey endpoint:
                _endpoints--;
                Reference(_hostReferences, endpoint.Hostname, -1);
                break;
            case HostIpKey host:
                Reference(_hostReferences, host.Hostname, -1);
                break;
            case ProfileRulesKey rules:
                Reference(_profileReferences, rules.ProfileId, -1);
                break;
            case ProfileTagsKey tags:
                Reference(_profileReferences, tags.ProfileId, -1);
                break;
        }
    }

    private static void Reference(Dictionary<string, int> references, string name, int delta)
    {
        var count = references.GetValueOrDefault(name) + delta;
        if (count <= 0)
        {
            references.Remove(name);
        }
        else
        {
            references[name] = count;
        }
    }
}
