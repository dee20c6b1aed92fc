using System.Text;
using Felix.Agent.Calculation;
using Felix.Agent.Model;
using Felix.Agent.Policy;
using Felix.Dataplane;
using Felix.Dataplane.Iptables;

namespace Felix.IntegrationTests.Policy;

/// <summary>
/// Renders what a <see cref="PolicyRenderer"/> holds as one restore input in the golden files'
/// shape: the filter table's whole-table script followed by the nat table's. Also reads model
/// values through the agent's own <see cref="ValueParser"/>, so the tests only ever feed the
/// renderer what the agent could have received.
/// </summary>
public static class PolicyScripts
{
    public static readonly ModelOptions CaliOptions = new("cali");

    public static string Render(PolicyRenderer renderer)
    {
        ArgumentNullException.ThrowIfNull(renderer);
        return RestoreScript.Render(TableName.Filter, renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter))
            + RestoreScript.Render(TableName.Nat, renderer.Chains(TableName.Nat), PolicyRenderer.Hooks(TableName.Nat));
    }

    /// <summary>A renderer fed <paramref name="updates"/> and rendered once.</summary>
    public static PolicyRenderer Rendered(IpVersion version, PolicyConfig config, IEnumerable<DataplaneUpdate> updates)
    {
        var renderer = new PolicyRenderer(version, config);
        foreach (var update in updates)
        {
            renderer.OnUpdate(update);
        }
        renderer.Render();
        return renderer;
    }

    /// <summary>The parsed value, or null with the parser's reason.</summary>
    public static T? TryParse<T>(DatastoreKey key, string json, ModelOptions options, out string? reason)
        where T : DatastoreValue
    {
        switch (ValueParser.Parse(key, Encoding.UTF8.GetBytes(json), options))
        {
            case ValidValue { Value: T value }:
                reason = null;
                return value;
            case InvalidValue invalid:
                reason = invalid.Reason;
                return null;
            case var other:
                reason = $"parsed as {other}, not a {typeof(T).Name}";
                return null;
        }
    }

    /// <summary>The parsed value; a test that meant to write a valid one fails with the parser's reason.</summary>
    public static T Parse<T>(DatastoreKey key, string json, ModelOptions options)
        where T : DatastoreValue =>
        TryParse<T>(key, json, options, out var reason)
            ?? throw new ArgumentException($"{key.Path}: {reason}\n{json}", nameof(json));

    public static EndpointUpdate ToUpdate(WorkloadEndpointKey key, WorkloadEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return new EndpointUpdate(key, endpoint.State, endpoint.Name, endpoint.Mac,
            EquatableList.From(endpoint.ProfileIds), EquatableList.From(endpoint.Ipv4Nets), EquatableList.From(endpoint.Ipv6Nets),
            endpoint.Ipv4Gateway, endpoint.Ipv6Gateway);
    }
}
