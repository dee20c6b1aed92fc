using System.Net;
using System.Net.Sockets;

namespace Felix.Bench;

/// <summary>A loopback TCP port the kernel reports free, for the servers a bench run starts.</summary>
internal static class FreePorts
{
    public static int Pick()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
