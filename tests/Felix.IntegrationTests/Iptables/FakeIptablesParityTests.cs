using System.Text;
using Felix.Dataplane;
using Felix.Dataplane.Tests.Fakes;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Policy;
using FakeCommand = Felix.Dataplane.Exec.Command;

namespace Felix.IntegrationTests.Iptables;

/// <summary>
/// Holds the unit tests' <see cref="FakeIptables"/> against the real restore and save tools: the
/// same steps — a first load, a minimal in-place update, failures of each kind, test mode, a flush,
/// a teardown — go to the fake and to each backend in a namespace of its own, and after every step
/// the exit code, the stderr and what save prints (header comments aside) must be the same. When
/// iptables changes, this is the test that says the fake no longer tells the truth.
/// </summary>
public sealed class FakeIptablesParityTests
{
    private static readonly TimeSpan FakeTimeout = TimeSpan.FromSeconds(60);

    [Theory]
    [MemberData(nameof(RestoreLoader.BackendsAndFamilies), MemberType = typeof(RestoreLoader))]
    public async Task The_fake_ends_every_step_where_the_real_tool_does(IptablesBackend backend, IpVersion version)
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("parity");
        var set = $"felix-v{(int)version}-db";
        await RestoreLoader.CreateSetsAsync(netns, [set]);
        var fake = new FakeIptables(new FakeIptablesOptions { SetExists = name => name == set });
        var restore = RestoreLoader.RestoreTool(backend, version);
        var save = RestoreLoader.SaveTool(backend, version);

        foreach (var step in Steps(backend, version, set))
        {
            var real = await netns.ExecWithInputAsync(step.Script, [restore, .. step.Arguments]);
            var faked = await fake.RunAsync(new FakeCommand(restore, step.Arguments, step.Script, FakeTimeout), CancellationToken.None);
            var context = $"{step.Name} ({Path.GetFileName(restore)} {string.Join(' ', step.Arguments)})";

            Assert.False(real.TimedOut, context);
            Assert.True(real.ExitCode == faked.ExitCode && real.StandardError == faked.StandardError,
                $"{context}: the real tool exited {real.ExitCode} with\n{real.StandardError}\nthe fake {faked.ExitCode} with\n{faked.StandardError}");
            Assert.Equal(step.ShouldSucceed, real.Succeeded);
            foreach (var arguments in new[] { new[] { "-t", "filter" }, ["-t", "nat"], [], ["-c", "-t", "filter"] })
            {
                var realSave = await netns.ExecAsync([save, .. arguments]);
                var fakeSave = await fake.RunAsync(new FakeCommand(save, arguments, null, FakeTimeout), CancellationToken.None);
                var saveContext = $"{context}, then save {string.Join(' ', arguments)}";
                Assert.Equal(realSave.ExitCode, fakeSave.ExitCode);
                Assert.True(realSave.StandardError == fakeSave.StandardError, $"{saveContext}: stderr\n{realSave.StandardError}\nvs\n{fakeSave.StandardError}");
                Assert.True(WithoutComments(realSave.StandardOutput) == WithoutComments(fakeSave.StandardOutput),
                    $"{saveContext}: the real tool saved\n{realSave.StandardOutput}\nthe fake\n{fakeSave.StandardOutput}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(RestoreLoader.BackendsAndFamilies), MemberType = typeof(RestoreLoader))]
    public async Task A_listed_batch_hooking_a_built_in_chain_of_a_fresh_table_fails_with_nft_alone(IptablesBackend backend, IpVersion version)
    {
        await using var net = new NetworkNamespaces();
        var netns = await net.CreateNamespaceAsync("listed");
        var fake = new FakeIptables();
        var restore = RestoreLoader.RestoreTool(backend, version);
        const string script = "*filter\n-S\n:felix-listed - [0:0]\n-A felix-listed -j DROP\n-I FORWARD 1 -j felix-listed\nCOMMIT\n";

        var real = await netns.ExecWithInputAsync(script, [restore, "--noflush"]);
        var faked = await fake.RunAsync(new FakeCommand(restore, ["--noflush"], script, FakeTimeout), CancellationToken.None);

        Assert.Equal(backend == IptablesBackend.Legacy, real.Succeeded);
        Assert.True(real.ExitCode == faked.ExitCode && real.StandardError == faked.StandardError,
            $"the real tool exited {real.ExitCode} with\n{real.StandardError}\nthe fake {faked.ExitCode} with\n{faked.StandardError}");
    }

    private sealed record Step(string Name, string Script, string[] Arguments, bool ShouldSucceed);

    /// <summary>
    /// What the agent will do (declare, fill, hook in; then replace, insert, delete in place) and
    /// what can go wrong, with the forms the fake canonicalises: comments quoted or not, matches
    /// written before the IP header options, bare addresses.
    /// </summary>
    private static IEnumerable<Step> Steps(IptablesBackend backend, IpVersion version, string set)
    {
        var (address, network, host) = version == IpVersion.V6
            ? ("fd00:1::5", "fd00:1::/64", "FD00:1::5/128")
            : ("10.65.0.5", "10.65.0.0/16", "10.65.0.5/255.255.255.255");
        string[] noFlush = ["--noflush"];

        yield return new Step("first load", $"""
            *filter
            :felix-FORWARD - [0:0]
            :felix-to-abc - [0:0]
            :felix-from-abc - [0:0]
            -A felix-to-abc -m comment --comment "felix:rule 1" -p tcp -m set --match-set {set} src -m multiport --dports 3306,8000:8080 -j MARK --set-xmark 0x1000000/0x1000000
            -A felix-to-abc -m conntrack --ctstate INVALID -j DROP
            -A felix-to-abc -m comment --comment felix:plain -s {address} -j RETURN
            -A felix-to-abc -m mark --mark 0x1000000/0x1000000 -j RETURN
            -A felix-to-abc -j DROP
            -A felix-FORWARD -o cali+ -g felix-to-abc
            -A felix-FORWARD -m comment --comment "bare" -i cali+ -g felix-from-abc
            -A felix-from-abc -m comment --comment "a 'quoted' \"one\"" -j DROP
            -I FORWARD 1 -m comment --comment "felix hook" -j felix-FORWARD
            COMMIT
            *nat
            :felix-POSTROUTING - [0:0]
            -A felix-POSTROUTING -s {network} ! -d {network} -j MASQUERADE
            -A POSTROUTING -j felix-POSTROUTING
            COMMIT

            """, noFlush, true);
        yield return new Step("update in place", $"""
            *filter
            :felix-from-abc - [0:0]
            -A felix-from-abc -m mac ! --mac-source aa:bb:cc:dd:ee:ff -j DROP
            -A felix-from-abc -j RETURN
            -R felix-to-abc 5 -j ACCEPT
            -D felix-to-abc 2
            -I felix-to-abc 2 -p udp -m multiport ! --sports 53 -j ACCEPT
            -D felix-to-abc -m comment --comment "felix:plain" -s {host} -j RETURN
            COMMIT

            """, noFlush, true);
        yield return new Step("missing jump target in a second block", """
            *filter
            :felix-extra - [0:0]
            -A felix-extra -j RETURN
            COMMIT
            *filter
            -A felix-extra -j DROP
            -A felix-extra -j felix-missing
            COMMIT

            """, noFlush, false);
        yield return new Step("delete a referenced chain", "*filter\n-A felix-extra -j DROP\n-X felix-to-abc\nCOMMIT\n", noFlush, false);
        yield return new Step("index out of range", "*filter\n-D felix-FORWARD 9\nCOMMIT\n", noFlush, false);
        yield return new Step("target in the wrong table", "*filter\n-A felix-extra -j MASQUERADE\nCOMMIT\n", noFlush, false);
        yield return new Step("missing set", "*filter\n-A felix-extra -m set --match-set felix-v4-nope src -j DROP\nCOMMIT\n", noFlush, false);
        yield return new Step("unterminated block", "*filter\n-A felix-extra -j DROP\n", noFlush, false);
        // Legacy's test mode runs every line on a copy; nft's only parses, so it passes this.
        yield return new Step("test mode", "*filter\n-A felix-extra -j felix-missing\n-X felix-nothing\nCOMMIT\n", ["--noflush", "--test"],
            backend == IptablesBackend.Nft);
        var nft = backend == IptablesBackend.Nft;
        yield return new Step("policy on a user chain", "*filter\n:felix-extra DROP [0:0]\nCOMMIT\n", noFlush, nft);
        yield return new Step("last COMMIT without a newline", "*filter\n:felix-nl - [0:0]\nCOMMIT", noFlush, nft);
        yield return new Step("delete every chain while some are busy", "*filter\n-X\nCOMMIT\n", noFlush, false);
        yield return new Step("insert past the end", "*filter\n-I felix-FORWARD 9 -j ACCEPT\nCOMMIT\n", noFlush, false);
        yield return new Step("delete a rule that is not there", "*filter\n-D felix-FORWARD -j ACCEPT\nCOMMIT\n", noFlush, false);
        yield return new Step("chain name too long", "*filter\n:felix-abcdefghijklmnopqrstuvw - [0:0]\nCOMMIT\n", noFlush, false);
        yield return new Step("command outside a table", "-A felix-extra -j DROP\nCOMMIT\n", noFlush, false);
        yield return new Step("unknown option", "*filter\nCOMMIT\n", ["--noflush", "--bogus"], false);
        yield return new Step("counters", "*filter\n:FORWARD ACCEPT [5:6]\n[7:8] -A felix-extra -j DROP\nCOMMIT\n", ["--noflush", "--counters"], true);
        yield return new Step("a commit after counters", "*filter\n-A felix-extra -j RETURN\nCOMMIT\n", noFlush, true);
        // The agent starts a large nft batch with a listing (it spares iptables-nft a search per line);
        // nft then refuses edits of built-in chains it has not created yet (see the fresh-table test),
        // so the agent writes the hooks in a second batch.
        yield return new Step("a listed batch", "*filter\n-S\n:felix-listed - [0:0]\n-A felix-listed -j DROP\nCOMMIT\n", noFlush, true);
        yield return new Step("a listed batch editing a built-in chain in use", "*filter\n-S\n-I FORWARD 1 -j felix-listed\nCOMMIT\n", noFlush, true);
        yield return new Step("flush mode, nat only", "*nat\n:felix-POSTROUTING - [0:0]\n-A felix-POSTROUTING -j RETURN\nCOMMIT\n", ["--wait", "10"], true);
        yield return new Step("teardown", "*filter\n-D FORWARD 1\n-F\n-X\nCOMMIT\n*nat\n-F\n-X\nCOMMIT\n", ["-n"], true);
    }

    private static string WithoutComments(string saved)
    {
        var text = new StringBuilder();
        foreach (var line in saved.Split('\n').Where(l => !l.StartsWith('#')))
        {
            text.Append(line).Append('\n');
        }
        return text.ToString();
    }
}
