using System.Text;
using System.Text.Unicode;
using Felix.Agent.Model;
using static Felix.Fuzz.FuzzTargets;

namespace Felix.Fuzz;

/// <summary>
/// The datastore model's parsers as the watcher drives them. An input is an etcd key, a newline,
/// and the value stored under it (no newline: a key alone). The key goes through
/// <see cref="KeyParser"/>; a known key's value through <see cref="ValueParser"/>. Beyond "no
/// exception", each answer must be a typed result: a rejection with a short printable reason, or
/// a record that keeps every invariant of <see cref="ModelInvariants"/>; the same bytes must parse
/// to an equal result again; and an endpoint accepted by the fast path must be the record the full
/// JSON path makes of it, since the fast path is only allowed to be quicker, never different.
/// </summary>
internal static class ModelTarget
{
    /// <summary>The interface prefix the seeds' endpoints use (the default, DESIGN.md §2).</summary>
    private static readonly ModelOptions Options = new("cali");

    public static void Run(ReadOnlySpan<byte> input)
    {
        var newline = input.IndexOf((byte)'\n');
        // etcd keys are bytes; the watcher decodes them as UTF-8, replacing what does not decode.
        var path = Encoding.UTF8.GetString(newline < 0 ? input : input[..newline]);
        var parsed = KeyParser.Parse(path);
        CheckKey(path, parsed);
        if (newline >= 0 && parsed is KnownKey known)
        {
            CheckValue(known.Key, input[(newline + 1)..]);
        }
    }

    private static void CheckKey(string path, KeyParseResult parsed)
    {
        switch (parsed)
        {
            case KnownKey known:
                Require(known.Key.Path == path, $"key {Show(path)} parsed to a key whose path is {Show(known.Key.Path)}");
                Require(KeyParser.Parse(known.Key.Path).Equals(parsed), $"key {Show(path)} parses differently the second time");
                break;
            case InvalidKey invalid:
                ModelInvariants.CheckReason(invalid.Reason);
                Require(invalid.Kind is "ready" or "config" or "host_ip" or "endpoint" or "profile_rules" or "profile_tags" or "pool",
                    $"invalid key of unknown kind {Show(invalid.Kind)}");
                break;
            default:
                Require(parsed is UnknownKey, $"key parser answered {parsed?.GetType().Name ?? "null"}");
                break;
        }
    }

    private static void CheckValue(DatastoreKey key, ReadOnlySpan<byte> value)
    {
        var result = ValueParser.Parse(key, value, Options);
        switch (result)
        {
            case InvalidValue invalid:
                ModelInvariants.CheckReason(invalid.Reason);
                break;
            case ValidValue valid:
                ModelInvariants.Check(key, valid.Value, Options);
                break;
            default:
                throw new FuzzFindingException($"value parser answered {result?.GetType().Name ?? "null"}");
        }
        var again = ValueParser.Parse(key, value, Options);
        Require(again.Equals(result) && again.GetHashCode() == result.GetHashCode(), $"the same value parsed to {result}, then to {again}");
        if (key is WorkloadEndpointKey && Utf8.IsValid(value) && EndpointParser.TryParseFast(value, Options) is { } fast)
        {
            using var document = JsonInput.Parse(value, out var reason);
            Require(document is not null, $"the endpoint fast path accepted a value the full path refuses as JSON: {reason}");
            var full = EndpointParser.Parse(document!.RootElement, Options);
            Require(full is ValidValue { Value: WorkloadEndpoint endpoint } && endpoint.Equals(fast),
                $"the endpoint fast path made {fast}, the full path {full}");
        }
    }

    private static string Show(string text) => Reasons.Show(text);
}
