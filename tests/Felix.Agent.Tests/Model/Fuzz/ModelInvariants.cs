using Felix.Agent.Model;
using Felix.Fuzz;

namespace Felix.Agent.Tests.Model.Fuzz;

/// <summary>
/// The model invariants of the fuzz harness (fuzz/Felix.Fuzz/ModelInvariants.cs), so the property
/// tests and AFL hold accepted values to the same rules; a broken one fails the test with the
/// generated case's context.
/// </summary>
internal static class ModelInvariants
{
    public static void CheckReason(string reason, string context) =>
        WithContext(() => Felix.Fuzz.ModelInvariants.CheckReason(reason), context);

    public static void Check(DatastoreKey key, DatastoreValue value, ModelOptions options, string context) =>
        WithContext(() => Felix.Fuzz.ModelInvariants.Check(key, value, options), context);

    private static void WithContext(Action check, string context)
    {
        try
        {
            check();
        }
        catch (FuzzFindingException e)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message} ({context})");
        }
    }
}
