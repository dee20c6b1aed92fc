using System.Net;
using System.Net.Sockets;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// Picks free TCP ports on 127.0.0.1 by letting the kernel bind port 0. The ports are released
/// before the caller uses them, so another process may take one first: callers retry on
/// "address already in use".
/// </summary>
public static class LoopbackPorts
{
    /// <summary>Two distinct free ports (both held while picking, so they never coincide).</summary>
    public static (int First, int Second) PickTwo()
    {
        using var first = Bind();
        using var second = Bind();
        return (PortOf(first), PortOf(second));
    }

    private static Socket Bind()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static int PortOf(Socket socket) => ((IPEndPoint)socket.LocalEndPoint!).Port;
}
