using System.Runtime.InteropServices;

namespace Felix.Dataplane.Netlink.Interop;

// From <linux/netlink.h>. Sizes and offsets are checked against the system headers by a test that
// compiles a C program (tests/Felix.IntegrationTests/Netlink/StructLayoutTests.cs).

/// <summary><c>struct nlmsghdr</c>: 16 bytes, in front of every netlink message.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct nlmsghdr
{
    public uint nlmsg_len;
    public ushort nlmsg_type;
    public ushort nlmsg_flags;
    public uint nlmsg_seq;
    public uint nlmsg_pid;
}

/// <summary><c>struct nlmsgerr</c>: the payload of <c>NLMSG_ERROR</c>; <c>error</c> 0 is an acknowledgement.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct nlmsgerr
{
    public int error;
    public nlmsghdr msg;
}

/// <summary><c>struct nlattr</c> / <c>struct rtattr</c> (<linux/rtnetlink.h>): the same 4-byte attribute header.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct rtattr
{
    public ushort rta_len;
    public ushort rta_type;
}

/// <summary><c>struct sockaddr_nl</c>: 12 bytes. Tmds.LibC has the socket calls but not this address.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct sockaddr_nl
{
    public ushort nl_family;
    public ushort nl_pad;
    public uint nl_pid;
    public uint nl_groups;
}

/// <summary><c>struct timeval</c> (<sys/time.h>, 64-bit Linux): for <c>SO_RCVTIMEO</c>; Tmds.LibC does not define it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct timeval
{
    public long tv_sec;
    public long tv_usec;
}
