"""Applies a systemd unit's sandbox to this process, then execs the command: what systemd's
exec step would do for felix.service on a host whose PID 1 is not systemd.

Usage: unshare --mount --propagation private python3 -I unit-sandbox.py SPEC.json -- COMMAND...

SPEC.json is written by UnitSandbox.cs from the parsed unit; this script only carries it out, in
systemd's order: the file system view first (it needs every capability), then the capability
bounding set and no_new_privs, then the seccomp filters (last, as they may refuse the calls above),
then execve. Each seccomp concern is a filter of its own, as systemd loads them: the kernel applies
the strictest answer of all.
"""
import ctypes
import errno
import json
import os
import resource
import socket
import subprocess
import sys

import seccomp

PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
PROT_WRITE, PROT_EXEC = 0x2, 0x4
SHM_EXEC = 0o100000
SCHED_RESET_ON_FORK = 0x40000000
REALTIME_POLICIES = (1, 2, 6)  # SCHED_FIFO, SCHED_RR, SCHED_DEADLINE
PER_LINUX = 0
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME
NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x00000080)
ADDRESS_FAMILY_LIMIT = 64  # above every AF_* the kernel knows; systemd refuses the unknown too

libc = ctypes.CDLL(None, use_errno=True)
libcap = ctypes.CDLL("libcap.so.2", use_errno=True)
STAGING = "/tmp"


def fail(message):
    print(f"unit-sandbox: {message}", file=sys.stderr)
    sys.exit(226)  # systemd's EXIT_NAMESPACE family: the sandbox could not be set up


def mount(*args):
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"mount {' '.join(args)}: {result.stderr.strip()}")


def mount_points():
    with open("/proc/self/mountinfo") as info:
        return [line.split()[4].encode().decode("unicode_escape") for line in info]


def under(path, roots):
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def read_only(path, exempt):
    # A path that is no mount point of its own (/proc/sys) becomes one, so it can be remounted.
    if path not in mount_points():
        mount("--bind", path, path)
    for point in mount_points():
        if under(point, [path]) and not under(point, exempt):
            remount_read_only(point)


def remount_read_only(point):
    result = subprocess.run(["mount", "-o", "remount,bind,ro", point], capture_output=True, text=True)
    # Other processes' mounts come and go while this walks the list (a test deleting its network
    # namespace unlinks /run/netns/<name>, and mountinfo then shows it as "<path>//deleted"); one
    # whose path is gone cannot be reached, so it needs no read-only copy.
    if result.returncode != 0 and os.path.lexists(point):
        fail(f"mount -o remount,bind,ro {point}: {result.stderr.strip()}")


def private_devices():
    # A tmpfs with the pseudo devices systemd's PrivateDevices= keeps, moved over /dev.
    staging = os.path.join(STAGING, "dev")
    os.mkdir(staging)
    mount("-t", "tmpfs", "-o", "mode=755,nosuid,noexec", "tmpfs", staging)
    for node in ("null", "zero", "full", "random", "urandom", "tty"):
        open(os.path.join(staging, node), "w").close()
        mount("--bind", f"/dev/{node}", os.path.join(staging, node))
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join(staging, name))
    os.mkdir(os.path.join(staging, "shm"))
    mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs", os.path.join(staging, "shm"))
    mount("--move", staging, "/dev")


def file_system(spec):
    mine, parent = os.readlink("/proc/self/ns/mnt"), os.readlink(f"/proc/{os.getppid()}/ns/mnt")
    if mine == parent:
        fail("not in a mount namespace of its own: run it under `unshare --mount --propagation private`")
    # Scratch space for the inaccessible nodes and /dev, on a tmpfs only this namespace sees; the
    # binds made from it outlive its unmount.
    mount("-t", "tmpfs", "-o", "mode=700", "tmpfs", STAGING)
    inaccessible_dir, inaccessible_file = os.path.join(STAGING, "inaccessible-dir"), os.path.join(STAGING, "inaccessible-file")
    os.mkdir(inaccessible_dir, 0)
    os.close(os.open(inaccessible_file, os.O_CREAT | os.O_WRONLY, 0))
    os.chmod(inaccessible_dir, 0)
    if spec["protectProc"]:
        mount("-t", "proc", "-o", f"nosuid,nodev,noexec,hidepid={spec['protectProc']}", "proc", "/proc")
    if spec["privateDevices"]:
        private_devices()
    for entry in spec["readOnly"]:
        if os.path.lexists(entry["path"]):
            read_only(entry["path"], entry["exempt"])
    for path in spec["inaccessible"]:
        if os.path.lexists(path):
            source = inaccessible_dir if os.path.isdir(path) else inaccessible_file
            mount("--bind", source, path)
    for entry in spec["readWrite"]:
        optional, path = entry.startswith("-"), entry.lstrip("-")
        if not os.path.exists(path):
            if optional:
                continue
            fail(f"ReadWritePaths={path} does not exist (systemd fails such a unit with 226/NAMESPACE)")
        mount("--bind", path, path)
        mount("-o", "remount,bind,rw", path)
    mount("--make-rprivate", "/")
    subprocess.run(["umount", "-l", STAGING], check=True)
    for path in spec["privateTmp"]:
        mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs", path)


def capabilities(spec):
    if spec["capabilityBoundingSet"] is None:
        return
    keep = set()
    for name in spec["capabilityBoundingSet"]:
        value = ctypes.c_int()
        if libcap.cap_from_name(name.lower().encode(), ctypes.byref(value)) != 0:
            fail(f"unknown capability {name}")
        keep.add(value.value)
    with open("/proc/sys/kernel/cap_last_cap") as last:
        for cap in range(int(last.read()) + 1):
            if cap not in keep and libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                fail(f"dropping capability {cap} from the bounding set: {os.strerror(ctypes.get_errno())}")
    # As under systemd, no capability may come back through the inheritable or ambient sets.
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    with open("/proc/self/status") as status:
        inheritable = next(line.split()[1] for line in status if line.startswith("CapInh:"))
    if int(inheritable, 16) != 0:
        fail(f"the inheritable capability set is {inheritable}, not empty as systemd leaves it")


def no_new_privileges(spec):
    if spec["noNewPrivileges"] and libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        fail("no_new_privs: " + os.strerror(ctypes.get_errno()))


def add(filter_, action, syscall, *args):
    try:
        filter_.add_rule(action, syscall, *args)
    except (RuntimeError, ValueError):
        pass  # unknown on this architecture: systemd skips it as well


def seccomp_filters(spec):
    filters = []
    if spec["denyWithEperm"]:
        deny = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        for name in spec["denyWithEperm"]:
            add(deny, seccomp.ERRNO(errno.EPERM), name)
        filters.append(deny)
    families = spec["addressFamilies"]
    if families is not None:
        allowed = {getattr(socket, name) for name in families}
        refuse = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        for family in range(ADDRESS_FAMILY_LIMIT):
            if family not in allowed:
                add(refuse, seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", seccomp.Arg(0, seccomp.EQ, family))
        add(refuse, seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", seccomp.Arg(0, seccomp.GE, ADDRESS_FAMILY_LIMIT))
        filters.append(refuse)
    guards = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    if spec["memoryDenyWriteExecute"]:
        add(guards, seccomp.ERRNO(errno.EPERM), "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, PROT_WRITE | PROT_EXEC, PROT_WRITE | PROT_EXEC))
        add(guards, seccomp.ERRNO(errno.EPERM), "mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
        add(guards, seccomp.ERRNO(errno.EPERM), "pkey_mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
        add(guards, seccomp.ERRNO(errno.EPERM), "shmat", seccomp.Arg(2, seccomp.MASKED_EQ, SHM_EXEC, SHM_EXEC))
    if spec["restrictNamespaces"]:
        # As systemd: any namespace flag refused, setns of any type too, clone3 (whose flags seccomp
        # cannot see) answered ENOSYS so the C library falls back to clone.
        for flag in NAMESPACE_FLAGS:
            for name, argument in (("unshare", 0), ("clone", 0), ("setns", 1)):
                add(guards, seccomp.ERRNO(errno.EPERM), name, seccomp.Arg(argument, seccomp.MASKED_EQ, flag, flag))
        add(guards, seccomp.ERRNO(errno.EPERM), "setns", seccomp.Arg(1, seccomp.EQ, 0))
        add(guards, seccomp.ERRNO(errno.ENOSYS), "clone3")
    if spec["restrictRealtime"]:
        for policy in REALTIME_POLICIES:
            add(guards, seccomp.ERRNO(errno.EPERM), "sched_setscheduler", seccomp.Arg(1, seccomp.MASKED_EQ, ~SCHED_RESET_ON_FORK & 0xFFFFFFFF, policy))
    if spec["lockPersonality"]:
        add(guards, seccomp.ERRNO(errno.EPERM), "personality", seccomp.Arg(0, seccomp.NE, PER_LINUX))
    filters.append(guards)
    syscalls = spec["syscallFilter"]
    if syscalls is not None:
        # Loaded last, as systemd does: it may refuse seccomp() itself.
        errno_number = syscalls["errno"]
        default = seccomp.ERRNO(errno_number) if errno_number is not None else seccomp.KILL_PROCESS
        allow = seccomp.SyscallFilter(defaction=default)
        for name in syscalls["allow"]:
            add(allow, seccomp.ALLOW, name)
        filters.append(allow)
    for filter_ in filters:
        filter_.load()


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        fail("usage: unit-sandbox.py SPEC.json -- COMMAND...")
    with open(sys.argv[1]) as file:
        spec = json.load(file)
    command = sys.argv[3:]
    # Opened before the file system view may hide it (a build under /root, say); exec'd by descriptor.
    program = os.open(command[0], os.O_RDONLY | os.O_CLOEXEC)
    file_system(spec)
    if spec["limitNofile"] is not None:
        limit = spec["limitNofile"]
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        except ValueError:
            # Raising the hard limit takes CAP_SYS_RESOURCE, which systemd has and a test host
            # (this VM's bounding set, say) may not: as close as this host allows.
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(limit, hard), min(limit, hard)))
    if spec["umask"] is not None:
        os.umask(int(spec["umask"], 8))
    capabilities(spec)
    no_new_privileges(spec)
    seccomp_filters(spec)
    os.execve(program, command, os.environ)


main()
