using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Felix.Dataplane.Routes;

/// <summary>
/// <see cref="ISysctls"/> on the files under <c>/proc/sys</c>. The kernel shows each process the
/// <c>net/</c> parameters of its own network namespace, so this reads and writes those of the
/// namespace the agent runs in and no other — no <c>sysctl</c> process, no namespace switching.
/// <para>
/// A file that does not exist, or an interface the kernel is tearing down while the file is open
/// (<c>ENOENT</c>/<c>ENODEV</c> from the read or write itself), is <see cref="SysctlOutcome.Missing"/>:
/// workload interfaces come and go at any moment. Anything else the kernel says (a read-only
/// <c>/proc/sys</c> in an unprivileged container, <c>EINVAL</c>) is <see cref="SysctlOutcome.Failed"/>.
/// </para>
/// </summary>
public sealed class ProcSysctls : ISysctls
{
    public const string DefaultRoot = "/proc/sys";

    private const int Enoent = 2;
    private const int Enxio = 6;
    private const int Enodev = 19;

    private readonly string _root;

    public ProcSysctls()
        : this(DefaultRoot)
    {
    }

    /// <summary>Over a directory laid out like <c>/proc/sys</c> (tests).</summary>
    internal ProcSysctls(string root) => _root = root;

    public SysctlResult Read(SysctlPath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            using var handle = File.OpenHandle(FullPath(path), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            // Every parameter the agent touches is a short integer; 64 bytes is plenty, and proc files have no length to ask.
            Span<byte> buffer = stackalloc byte[64];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = RandomAccess.Read(handle, buffer[length..], length)) > 0)
            {
                length += read;
            }
            return SysctlResult.Read(Encoding.ASCII.GetString(buffer[..length]).Trim());
        }
        catch (Exception e) when (IsMissing(e))
        {
            return SysctlResult.Missing;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return SysctlResult.Failed(e.Message);
        }
    }

    public SysctlResult Write(SysctlPath path, int value)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            // FileMode.Open: a parameter is never created (a missing one means its interface is gone).
            // One write of the whole value at offset 0, which is how the kernel parses a sysctl.
            using SafeFileHandle handle = File.OpenHandle(FullPath(path), FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            RandomAccess.Write(handle, Encoding.ASCII.GetBytes(value.ToString(CultureInfo.InvariantCulture) + "\n"), 0);
            return SysctlResult.Done;
        }
        catch (Exception e) when (IsMissing(e))
        {
            return SysctlResult.Missing;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return SysctlResult.Failed(e.Message);
        }
    }

    private string FullPath(SysctlPath path) => _root + "/" + path.Relative;

    /// <summary>.NET reports an errno it has no exception type for as an <see cref="IOException"/> whose HResult is the errno.</summary>
    private static bool IsMissing(Exception e) =>
        e is FileNotFoundException or DirectoryNotFoundException
        || (e is IOException && e.HResult is Enoent or Enxio or Enodev);
}
