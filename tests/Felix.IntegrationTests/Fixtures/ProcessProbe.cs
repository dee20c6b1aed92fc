namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// Tells whether a pid still names a live process, from /proc. A killed process whose parent has
/// not reaped it yet is a zombie: it shows up in /proc but runs nothing, so it counts as dead.
/// </summary>
public static class ProcessProbe
{
    /// <summary>
    /// Waits, polling /proc, until the pid is dead or <paramref name="timeout"/> passes; returns
    /// whether it died. For processes that are not our children, which a SIGKILL ends a moment later.
    /// </summary>
    public static async Task<bool> WaitUntilDeadAsync(int pid, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (IsAlive(pid))
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }

        return true;
    }

    public static bool IsAlive(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }

        // Format: "pid (comm) state ..."; comm may contain spaces and parentheses, so read after the last ')'.
        var afterName = stat[(stat.LastIndexOf(')') + 1)..].TrimStart();
        return afterName.Length > 0 && afterName[0] is not ('Z' or 'X');
    }
}
