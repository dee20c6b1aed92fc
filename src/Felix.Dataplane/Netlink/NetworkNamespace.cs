using System.Text;
using Tmds.Linux;

namespace Felix.Dataplane.Netlink;

/// <summary>
/// Runs code inside a named network namespace (<c>/run/netns/NAME</c>, as <c>ip netns add</c>
/// makes them) without moving the process: a dedicated thread joins the namespace with
/// <c>setns</c>, runs the code and ends, taking the namespace with it. A netlink socket opened there
/// stays in that namespace for good, whichever thread uses it later, and so does a file under
/// <c>/proc/sys/net</c> opened there. The agent runs in its own namespace and never needs this;
/// tests and the bench do, to drive the real kernel without touching the host's.
/// </summary>
public static unsafe class NetworkNamespace
{
    public static T Run<T>(string name, Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(work);
        if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal) || name is "." or "..")
        {
            throw new ArgumentException($"'{name}' is not a network namespace name", nameof(name));
        }
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Enter(name);
                result = work();
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        { IsBackground = true, Name = $"netns {name}" };
        thread.Start();
        thread.Join();
        return failure is null ? result : throw new NetlinkException($"running in network namespace {name} failed: {failure.Message}", failure);
    }

    private static void Enter(string name)
    {
        var path = Encoding.UTF8.GetBytes($"/run/netns/{name}\0");
        int fd;
        fixed (byte* bytes = path)
        {
            fd = LibC.open(bytes, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        }
        if (fd < 0)
        {
            throw new NetlinkException($"open /run/netns/{name} failed: {Errno.Name(LibC.errno)}");
        }
        try
        {
            if (LibC.setns(fd, LibC.CLONE_NEWNET) < 0)
            {
                throw new NetlinkException($"setns into {name} failed: {Errno.Name(LibC.errno)}");
            }
        }
        finally
        {
            _ = LibC.close(fd);
        }
    }
}
