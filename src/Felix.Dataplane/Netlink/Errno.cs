namespace Felix.Dataplane.Netlink;

/// <summary>Names of the errnos netlink answers with (asm-generic/errno-base.h, errno.h), for log lines an operator can search.</summary>
public static class Errno
{
    private static readonly Dictionary<int, string> Names = new()
    {
        [1] = "EPERM",
        [2] = "ENOENT",
        [3] = "ESRCH",
        [4] = "EINTR",
        [11] = "EAGAIN",
        [12] = "ENOMEM",
        [13] = "EACCES",
        [16] = "EBUSY",
        [17] = "EEXIST",
        [19] = "ENODEV",
        [22] = "EINVAL",
        [34] = "ERANGE",
        [71] = "EPROTO",
        [90] = "EMSGSIZE",
        [93] = "EPROTONOSUPPORT",
        [95] = "EOPNOTSUPP",
        [97] = "EAFNOSUPPORT",
        [99] = "EADDRNOTAVAIL",
        [100] = "ENETDOWN",
        [101] = "ENETUNREACH",
        [105] = "ENOBUFS",
        [113] = "EHOSTUNREACH",
    };

    public static string Name(int errno) => Names.TryGetValue(errno, out var name) ? name : $"errno {errno}";
}
