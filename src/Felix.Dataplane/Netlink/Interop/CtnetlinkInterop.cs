using System.Runtime.InteropServices;

namespace Felix.Dataplane.Netlink.Interop;

/// <summary>The nfnetlink and ctnetlink constants the conntrack flush uses, with the header each comes from.</summary>
internal static class CtnetlinkConstants
{
    // <linux/netlink.h>
    public const int NETLINK_NETFILTER = 12;
    public const ushort NLA_F_NESTED = 0x8000;

    // <linux/netfilter/nfnetlink.h>: a message type is the subsystem in the high byte, its message in the low
    public const byte NFNETLINK_V0 = 0;
    public const ushort NFNL_SUBSYS_CTNETLINK = 1;

    // <linux/netfilter/nfnetlink_conntrack.h>: enum cntl_msg_types
    public const ushort IPCTNL_MSG_CT_NEW = (NFNL_SUBSYS_CTNETLINK << 8) | 0;
    public const ushort IPCTNL_MSG_CT_GET = (NFNL_SUBSYS_CTNETLINK << 8) | 1;
    public const ushort IPCTNL_MSG_CT_DELETE = (NFNL_SUBSYS_CTNETLINK << 8) | 2;

    // enum ctattr_type
    public const ushort CTA_TUPLE_ORIG = 1;
    public const ushort CTA_TUPLE_REPLY = 2;
    public const ushort CTA_ZONE = 18;

    // enum ctattr_tuple
    public const ushort CTA_TUPLE_IP = 1;

    // enum ctattr_ip
    public const ushort CTA_IP_V4_SRC = 1;
    public const ushort CTA_IP_V4_DST = 2;
    public const ushort CTA_IP_V6_SRC = 3;
    public const ushort CTA_IP_V6_DST = 4;
}

/// <summary><c>struct nfgenmsg</c> (<linux/netfilter/nfnetlink.h>): 4 bytes after the header of every nfnetlink message; <c>res_id</c> is big-endian.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct nfgenmsg
{
    public byte nfgen_family;
    public byte version;
    public ushort res_id;
}
