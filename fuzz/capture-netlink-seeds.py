#!/usr/bin/env python3
"""Captures the netlink seed corpus (fuzz/corpus/netlink) from a real kernel.

Run as root: python3 fuzz/capture-netlink-seeds.py. It builds a throwaway network namespace
with a few links, addresses, routes, neighbours and a conntrack entry, asks the kernel for the
dumps and answers the agent reads (link, route, neighbour and address dumps, a route lookup, an
error with extended-ack text, a conntrack dump), and writes each answer's first datagram, cut to
a few messages so the seeds stay small, as one seed file. The root namespace is never touched.
"""
import os, socket, struct, subprocess, sys

NS = "felix-fuzz-seeds"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "netlink")
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
SOL_NETLINK, NETLINK_CAP_ACK, NETLINK_EXT_ACK = 270, 10, 11


def sh(*commands):
    for command in commands:
        subprocess.run(["ip", "netns", "exec", NS, "sh", "-c", command], check=True)


def request(sock, kind, flags, payload, seq):
    """Sends one request; returns the first datagram of its answer, having read the whole answer."""
    sock.send(struct.pack("=IHHII", 16 + len(payload), kind, flags, seq, 0) + payload)
    first = None
    while True:
        datagram = sock.recv(1 << 16)
        first = first or datagram
        types = [struct.unpack_from("=H", m, 4)[0] for m in messages(datagram, 1 << 16)]
        if not flags & NLM_F_DUMP or 3 in types or 2 in types:
            return first


def messages(datagram, limit):
    """The first `limit` messages of a datagram, each cut at its own length."""
    out, offset = [], 0
    while offset + 16 <= len(datagram) and len(out) < limit:
        length = struct.unpack_from("=I", datagram, offset)[0]
        out.append(datagram[offset:offset + length])
        offset += (length + 3) & ~3
    return out


def save(name, datagram, limit=3):
    data = b"".join(m + b"\0" * (-len(m) % 4) for m in messages(datagram, limit))
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def capture():
    rt = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    rt.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    # IFLA_EXT_MASK = RTEXT_FILTER_SKIP_STATS, as the agent asks.
    skip_stats = struct.pack("=HHI", 8, 29, 1 << 3)
    ifinfo = struct.pack("=BxHiII", 0, 0, 0, 0, 0)
    save("link-dump", request(rt, 16 + 2, NLM_F_REQUEST | NLM_F_DUMP, ifinfo + skip_stats, 1), limit=2)
    name = b"nonexistent0\0"
    ifname = struct.pack("=HH", 4 + len(name), 3) + name + b"\0" * (-len(name) % 4)
    save("link-get-error", request(rt, 16 + 2, NLM_F_REQUEST, ifinfo + skip_stats + ifname, 2))
    for family, tag in ((socket.AF_INET, "v4"), (socket.AF_INET6, "v6")):
        rtmsg = struct.pack("=BBBBBBBBI", family, 0, 0, 0, 254, 0, 0, 0, 0)
        save(f"route-dump-{tag}", request(rt, 24 + 2, NLM_F_REQUEST | NLM_F_DUMP, rtmsg, 3))
        ndmsg = struct.pack("=BxxxiHBB", family, 0, 0, 0, 0)
        save(f"neigh-dump-{tag}", request(rt, 28 + 2, NLM_F_REQUEST | NLM_F_DUMP, ndmsg, 4))
        ifaddr = struct.pack("=BBBBi", family, 0, 0, 0, 0)
        save(f"addr-dump-{tag}", request(rt, 20 + 2, NLM_F_REQUEST | NLM_F_DUMP, ifaddr, 5))
    dst = socket.inet_aton("10.65.0.2")
    rtmsg = struct.pack("=BBBBBBBBI", socket.AF_INET, 32, 0, 0, 0, 0, 0, 0, 0)
    save("route-get", request(rt, 24 + 2, NLM_F_REQUEST, rtmsg + struct.pack("=HH", 8, 1) + dst, 6))
    # A refused route add with the error's TLVs after a capped echo, as the agent's requests get them.
    rt.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
    rtmsg = struct.pack("=BBBBBBBBI", socket.AF_INET, 33, 254, 4, 0, 1, 0, 0, 0)
    save("route-add-error", request(rt, 24, NLM_F_REQUEST | NLM_F_ACK | 0x400, rtmsg + struct.pack("=HH", 8, 1) + dst, 7))
    ct = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)
    for family, tag in ((socket.AF_INET, "v4"), (socket.AF_INET6, "v6")):
        save(f"conntrack-dump-{tag}", request(ct, (1 << 8) | 1, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BBH", family, 0, 0), 8))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        capture()
        return
    os.makedirs(OUT, exist_ok=True)
    subprocess.run(["ip", "netns", "add", NS], check=True)
    try:
        sh("ip link set lo up",
           "ip link add eth0 type veth peer name peer0 && ip link set eth0 up && ip link set peer0 up",
           "ip link add veth0 type veth peer name cali1 && ip link set veth0 up && ip link set cali1 up",
           "ip addr add 10.65.0.1/24 dev eth0 && ip addr add fd00::1/64 dev eth0 nodad",
           "ip route add 10.65.0.2/32 dev cali1 proto 4 scope link",
           "ip route add 10.66.0.0/16 via 10.65.0.9 dev eth0 proto 4 onlink",
           "ip -6 route add fd00:1::2/128 dev cali1 proto 4",
           "ip neigh replace 10.65.0.2 lladdr 96:c4:86:4d:d7:2c dev cali1 nud permanent",
           "ip neigh add proxy 10.65.0.3 dev cali1",
           "ip -6 neigh replace fd00::2 lladdr 96:c4:86:4d:d7:2c dev eth0 nud permanent",
           "conntrack -I -p tcp -s 10.65.0.2 -d 10.65.0.1 --sport 40000 --dport 80 --state ESTABLISHED -t 600 -u ASSURED --zone 7",
           "conntrack -I -p udp -s fd00::2 -d fd00::1 --sport 5353 --dport 53 -t 60")
        subprocess.run(["ip", "netns", "exec", NS, sys.executable, os.path.abspath(__file__), "--inside"], check=True)
    finally:
        subprocess.run(["ip", "netns", "del", NS], check=True)


if __name__ == "__main__":
    main()
