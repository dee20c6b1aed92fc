using System.Runtime.InteropServices;

namespace Felix.Dataplane.Netlink.Interop;

/// <summary><c>struct rtmsg</c> (<linux/rtnetlink.h>): 12 bytes, the fixed part of a route message.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct rtmsg
{
    public byte rtm_family;
    public byte rtm_dst_len;
    public byte rtm_src_len;
    public byte rtm_tos;
    public byte rtm_table;
    public byte rtm_protocol;
    public byte rtm_scope;
    public byte rtm_type;
    public uint rtm_flags;
}

/// <summary><c>struct ifinfomsg</c> (<linux/rtnetlink.h>): 16 bytes, the fixed part of a link message.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ifinfomsg
{
    public byte ifi_family;
    public byte __ifi_pad;
    public ushort ifi_type;
    public int ifi_index;
    public uint ifi_flags;
    public uint ifi_change;
}

/// <summary><c>struct ndmsg</c> (<linux/neighbour.h>): 12 bytes, the fixed part of a neighbour message.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ndmsg
{
    public byte ndm_family;
    public byte ndm_pad1;
    public ushort ndm_pad2;
    public int ndm_ifindex;
    public ushort ndm_state;
    public byte ndm_flags;
    public byte ndm_type;
}
