using Felix.Dataplane.Netlink.Interop;
using Tmds.Linux;
using static Felix.Dataplane.Netlink.Interop.NetlinkConstants;

namespace Felix.Dataplane.Netlink;

/// <summary>
/// One <c>AF_NETLINK</c> socket, through Tmds.LibC: datagrams out to the kernel and in from it,
/// with <c>EINTR</c> retried and every other failure an exception naming the call and the errno.
/// Receives time out (<c>SO_RCVTIMEO</c>), so a reply the kernel never sends cannot hang the
/// apply loop, and report <c>ENOBUFS</c> (the kernel dropped messages for us) as its own exception.
/// </summary>
internal sealed unsafe class NetlinkSocket : IDisposable
{
    private int _fd;

    private NetlinkSocket(int fd)
    {
        _fd = fd;
    }

    /// <param name="groups">Multicast groups to receive (<c>RTMGRP_LINK</c>), 0 for a request socket.</param>
    /// <param name="receiveTimeout">How long a receive may wait; zero waits for ever (an event socket).</param>
    public static NetlinkSocket Open(int protocol, uint groups, TimeSpan receiveTimeout, int receiveBufferBytes)
    {
        var fd = LibC.socket(AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, protocol);
        if (fd < 0)
        {
            throw Failure("socket(AF_NETLINK)");
        }
        var socket = new NetlinkSocket(fd);
        try
        {
            var address = new sockaddr_nl { nl_family = AF_NETLINK, nl_groups = groups };
            if (LibC.bind(fd, (sockaddr*)&address, sizeof(sockaddr_nl)) < 0)
            {
                throw Failure("bind");
            }
            // Errors carry the kernel's own explanation; acks echo only the request's header; dumps honour their filters.
            socket.TrySetOption(SOL_NETLINK, NETLINK_EXT_ACK, 1);
            socket.TrySetOption(SOL_NETLINK, NETLINK_CAP_ACK, 1);
            socket.TrySetOption(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
            if (!socket.TrySetOption(LibC.SOL_SOCKET, LibC.SO_RCVBUFFORCE, receiveBufferBytes))
            {
                socket.TrySetOption(LibC.SOL_SOCKET, LibC.SO_RCVBUF, receiveBufferBytes);
            }
            if (receiveTimeout > TimeSpan.Zero)
            {
                var timeout = new timeval
                {
                    tv_sec = (long)receiveTimeout.TotalSeconds,
                    tv_usec = receiveTimeout.Microseconds + (receiveTimeout.Milliseconds * 1000L),
                };
                if (LibC.setsockopt(fd, LibC.SOL_SOCKET, LibC.SO_RCVTIMEO, &timeout, sizeof(timeval)) < 0)
                {
                    throw Failure("setsockopt(SO_RCVTIMEO)");
                }
            }
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends one datagram (which may hold several messages) to the kernel.</summary>
    public void Send(ReadOnlySpan<byte> datagram)
    {
        var kernel = new sockaddr_nl { nl_family = AF_NETLINK };
        fixed (byte* bytes = datagram)
        {
            while (true)
            {
                var sent = LibC.sendto(Fd, bytes, datagram.Length, 0, (sockaddr*)&kernel, sizeof(sockaddr_nl));
                if (sent >= 0)
                {
                    return;
                }
                if (LibC.errno != LibC.EINTR)
                {
                    throw Failure("sendto");
                }
            }
        }
    }

    /// <summary>Receives one datagram into <paramref name="buffer"/> and returns its length.</summary>
    /// <exception cref="NetlinkOverrunException">The kernel dropped messages (<c>ENOBUFS</c>).</exception>
    /// <exception cref="NetlinkException">Timed out, the datagram did not fit, or the call failed.</exception>
    public int Receive(Span<byte> buffer)
    {
        fixed (byte* bytes = buffer)
        {
            while (true)
            {
                // MSG_TRUNC makes recv return the datagram's real length, so a cut one is noticed, not parsed.
                var received = (long)LibC.recv(Fd, bytes, buffer.Length, LibC.MSG_TRUNC);
                if (received > buffer.Length)
                {
                    throw new NetlinkException($"a netlink datagram of {received} bytes did not fit the {buffer.Length}-byte buffer");
                }
                if (received >= 0)
                {
                    return (int)received;
                }
                var errno = LibC.errno;
                if (errno == LibC.EINTR || errno == 0)
                {
                    // Interrupted, or its errno lost (see WaitReadable): nothing was taken from the socket.
                    continue;
                }
                if (errno == LibC.ENOBUFS)
                {
                    throw new NetlinkOverrunException();
                }
                throw errno == LibC.EAGAIN ? new NetlinkException("the kernel did not answer on the netlink socket in time") : Failure("recv", errno);
            }
        }
    }

    /// <summary>Waits up to <paramref name="timeoutMilliseconds"/> for a datagram to read.</summary>
    public bool WaitReadable(int timeoutMilliseconds)
    {
        var poll = new pollfd { fd = Fd, events = LibC.POLLIN };
        var ready = LibC.poll(&poll, 1, timeoutMilliseconds);
        if (ready >= 0)
        {
            return ready > 0;
        }
        var errno = LibC.errno;
        // EINTR: a signal came first (the runtime suspends threads for GC with signals). 0: the
        // errno was lost on the way back, as seen once under heavy GC load; the agent's link watch
        // died of it. poll consumes nothing, so in both cases waiting again is safe.
        if (errno == LibC.EINTR || errno == 0)
        {
            return false;
        }
        throw Failure("poll", errno);
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            // A failed close of a netlink socket loses nothing: no data is buffered for the kernel.
            _ = LibC.close(fd);
        }
    }

    private int Fd => _fd >= 0 ? _fd : throw new ObjectDisposedException(nameof(NetlinkSocket));

    private bool TrySetOption(int level, int option, int value) => LibC.setsockopt(_fd, level, option, &value, sizeof(int)) == 0;

    private static NetlinkException Failure(string call, int? errno = null)
    {
        var code = errno ?? LibC.errno;
        return new NetlinkException($"{call} failed: {Errno.Name(code)} ({code})");
    }
}

/// <summary>The kernel had to drop netlink messages for this socket (<c>ENOBUFS</c>): whatever they announced must be read afresh.</summary>
public sealed class NetlinkOverrunException : Exception
{
    public NetlinkOverrunException()
        : base("the kernel dropped netlink messages (ENOBUFS)")
    {
    }

    public NetlinkOverrunException(string message)
        : base(message)
    {
    }

    public NetlinkOverrunException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
