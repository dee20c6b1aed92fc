using System.Globalization;
using System.Text;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// The texts of <c>ipset save</c> and <c>ipset list</c> (plain, <c>-terse</c>, <c>-name</c>) as
/// ipset 7.17 prints them: sets in the kernel's dump order (see <see cref="FakeIpsetKernel.Sets"/>),
/// a blank line between listed sets and none after the last. The real kernel prints a hash set's members in hash order, which changes with every
/// set's random seed; the fake prints them in one fixed order (by address, then prefix, protocol,
/// port), so code must not depend on the order either way.
/// </summary>
internal static class FakeIpsetOutput
{
    public static string Save(IEnumerable<FakeIpsetSet> sets)
    {
        var text = new StringBuilder();
        foreach (var set in sets)
        {
            text.Append(CultureInfo.InvariantCulture, $"create {set.Name} {set.TypeName} {set.Header}\n");
            foreach (var member in set.MemberTexts)
            {
                text.Append(CultureInfo.InvariantCulture, $"add {set.Name} {member}\n");
            }
        }
        return text.ToString();
    }

    public static string List(IEnumerable<FakeIpsetSet> sets, IpsetListOptions options)
    {
        if (options.Output == "save")
        {
            return Save(sets);
        }
        if (options.NamesOnly)
        {
            return string.Concat(sets.Select(set => set.Name + "\n"));
        }
        return string.Join("\n", sets.Select(set => ListOne(set, options.Terse)));
    }

    private static string ListOne(FakeIpsetSet set, bool terse)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Name: {set.Name}\n");
        text.Append(CultureInfo.InvariantCulture, $"Type: {set.TypeName}\n");
        text.Append(CultureInfo.InvariantCulture, $"Revision: {IpsetKinds.Revision(set.Kind)}\n");
        text.Append(CultureInfo.InvariantCulture, $"Header: {set.Header}\n");
        text.Append(CultureInfo.InvariantCulture, $"Size in memory: {set.MemorySize}\n");
        text.Append(CultureInfo.InvariantCulture, $"References: {set.References}\n");
        text.Append(CultureInfo.InvariantCulture, $"Number of entries: {set.Count}\n");
        if (!terse)
        {
            text.Append("Members:\n");
            foreach (var member in set.MemberTexts)
            {
                text.Append(CultureInfo.InvariantCulture, $"{member}\n");
            }
        }
        return text.ToString();
    }
}
