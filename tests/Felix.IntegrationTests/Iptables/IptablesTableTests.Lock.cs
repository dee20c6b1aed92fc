using System.Diagnostics;
using Felix.Agent.Policy;
using Felix.Dataplane;
using Felix.Dataplane.Iptables;
using Felix.IntegrationTests.Fixtures;
using Felix.IntegrationTests.Policy;

namespace Felix.IntegrationTests.Iptables;

public sealed partial class IptablesTableTests
{
    private const int HolderSeconds = 3;

    /// <summary>
    /// The legacy tools serialise on the xtables lock file. Another program holds it (a private
    /// file named by <c>XTABLES_LOCKFILE</c>, so the host's lock is never taken) for a few seconds
    /// while the table applies with a 10 s lock timeout: the restore waits instead of failing, and
    /// the holder has let go by the time the apply returns — proof the restore really waited on
    /// that lock rather than running beside it.
    /// </summary>
    [Fact]
    public async Task A_legacy_restore_waits_for_the_xtables_lock_another_program_holds()
    {
        var directory = Directory.CreateTempSubdirectory("felix-xtables-lock-");
        var lockFile = Path.Combine(directory.FullName, "xtables.lock");
        await using var net = new NetworkNamespaces();
        var host = new IptablesHost(await net.CreateNamespaceAsync("lock"), IptablesBackend.Legacy, IpVersion.V4, lockFile);
        var renderer = IptablesModel.Rendered(IpVersion.V4, SmallModel);
        await host.CreateSetsAsync(renderer);
        var filter = host.NewTable(TableName.Filter, lockTimeoutSeconds: 10);
        filter.SetAll(renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter));

        using var holder = await HoldLockAsync(lockFile);
        try
        {
            Assert.False(holder.HasExited);
            await filter.ApplyAsync();

            Assert.True(holder.HasExited, "the restore finished while another program still held the lock");
            Assert.Equal(0, holder.ExitCode);
            Assert.Equal((0, 1), (filter.RestoreErrors, filter.RestoreCalls));
            await host.AssertProgrammedAsync(TableName.Filter, renderer.Chains(TableName.Filter), PolicyRenderer.Hooks(TableName.Filter));
        }
        finally
        {
            if (!holder.HasExited)
            {
                holder.Kill(entireProcessTree: true);
            }
            directory.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Starts <c>flock FILE sh -c 'echo held; exec sleep N'</c> and returns once it has printed
    /// <c>held</c>: flock runs the command only after taking the lock, so the lock is held then.
    /// </summary>
    private static async Task<Process> HoldLockAsync(string lockFile)
    {
        var start = new ProcessStartInfo(Require.Executable("flock", "util-linux"))
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { lockFile, "sh", "-c", $"echo held; exec sleep {HolderSeconds}" })
        {
            start.ArgumentList.Add(argument);
        }
        var holder = Process.Start(start) ?? throw new InvalidOperationException("flock did not start");
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var line = await holder.StandardOutput.ReadLineAsync(bound.Token);
        Assert.Equal("held", line);
        return holder;
    }
}
