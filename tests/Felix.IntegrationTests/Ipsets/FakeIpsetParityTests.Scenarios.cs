using System.Globalization;

namespace Felix.IntegrationTests.Ipsets;

/// <summary>
/// The scenarios: the shapes Felix programs (its sets, deltas, the temporary-set swap), every
/// failure the unit tests pin down, and the batching that makes a failed restore leave some lines
/// applied and drop others.
/// </summary>
public sealed partial class FakeIpsetParityTests
{
    private const string ErrorBase = """
        create a hash:ip
        add a 10.0.0.1
        create v6 hash:ip family inet6
        create n hash:net
        create n6 hash:net family inet6
        create ipp hash:ip,port

        """;

    /// <summary>Lines that fail, each run after an add it may or may not take down with it.</summary>
    private static readonly string[] FailingLines =
    [
        "create a hash:ip", "create a hash:net -exist", "create a hash:ip maxelem 10 -exist", "add a 10.0.0.1", "del a 10.9.9.9",
        "del nosuch 10.0.0.1 -exist", "flush nosuch -exist", "add v6 10.0.0.1", "add a ::1", "add a 0x0a.0.0.2", "add v6 fe80::1%eth0",
        "add n 2001:db8::/64", "add n6 2001:db8::/129", "add n6 10.0.0.0/8", "add n6 2001:db8::1-2001:db8::5", "add v6 2001:db8::/126",
        "add v6 2001:db8::1-2001:db8::3", "add a 10.0.0.1,80", "add n 10.0.0.0/0", "add n6 2001:db8::/0", "add a 10.0.0.0/0",
        "add a 0.0.0.0", "add a 0.0.0.0/31", "add v6 ::", "create abcdefghijklmnopqrstuvwxyz012345 hash:ip",
        "add abcdefghijklmnopqrstuvwxyz012345 10.0.0.1", "destroy abcdefghijklmnopqrstuvwxyz012345", "create x hash:ip family inet4",
        "create x hash:ip family INET6", "create x HASH:IP", "create x hash:net family inet hashsize 64 family inet6",
        "create x hash:ip family inet -4", "create x hash:ip maxelem 5 maxelem 6", "create x hash:ip hashsize abc",
        "create x hash:ip maxelem 4294967296", "create x hash:ip hashsize 2147483648", "add ipp 10.0.0.1", "add ipp 10.0.0.1,65536",
        "swap a n", "swap a v6", "swap a nosuch", "swap nosuch a", "rename a n", "rename nosuch x", "add ipp 10.0.0.1,udp:70000",
    ];

    private static readonly string[] UsageLines =
    [
        "foo bar", "add", "add a", "create x", "swap a", "rename a", "add a 10.0.0.1 extra", "add a 10.0.0.1 -exist extra",
        "create x hash:ip foo 5", "create x list:set family inet", "create x hash:ip size 5", "create x hash:ip hashsize", "destroy a b",
        "flush a b", "swap a b c", "rename a c d",
    ];

    private static readonly Dictionary<string, Step[]> Scenarios = new(StringComparer.Ordinal)
    {
        ["felix-sets"] =
        [
            Restore("""
                create felix-v4-a hash:ip family inet
                create felix-v6-a hash:ip family inet6 hashsize 2048 maxelem 1000
                create felix-all-ipam-pools hash:net family inet
                create felix-masq-ipam-pools hash:net family inet
                create felix-all-ipam-pools-v6 hash:net family inet6
                add felix-v4-a 10.0.0.2
                add felix-v4-a 10.1
                add felix-v4-a 010.0.0.1
                add felix-v4-a 4294967295
                add felix-v6-a 2001:0DB8:0:0::0002
                add felix-v6-a ::a00:1
                add felix-v6-a ::ffff:0:1
                add felix-v6-a ::ffff:1.2.3.4
                add felix-v6-a 2001:db8:0:0:1:0:0:1
                add felix-v6-a 2001:0:0:1::1
                add felix-all-ipam-pools 10.1.2.77/24
                add felix-all-ipam-pools 10.1.2.3/32
                add felix-all-ipam-pools 10.1.2.4
                add felix-all-ipam-pools 0.0.0.0/1
                add felix-masq-ipam-pools 10.0.0.0-10.0.0.5
                add felix-all-ipam-pools-v6 2001:DB8:0::5/64
                add felix-all-ipam-pools-v6 2001:db8::1/128
                add felix-v4-a 10.0.1.0/30
                add felix-v4-a 10.0.0.12-10.0.0.10

                """),
            Restore("del felix-v4-a 10.0.0.2 -exist\ndel felix-v4-a 10.0.0.99 -exist\nadd felix-v4-a 10.0.0.3\ndel felix-all-ipam-pools 10.1.2.0/24\n"),
            Run("list"), Run("list -n"), Run("-n list"), Run("list -name felix-v6-a"), Run("save felix-v6-a"),
            Run("list -o save felix-all-ipam-pools"), Run("-o plain list felix-masq-ipam-pools"), Run("list -t -n"),
        ],
        ["temporary-set-swap"] =
        [
            Restore("create felix-v4-x hash:ip family inet maxelem 1000\nadd felix-v4-x 10.0.0.1\ncreate L list:set\nadd L felix-v4-x\n"),
            Restore("""
                create felix-tmp-v4-x hash:ip family inet hashsize 2048 maxelem 2000
                add felix-tmp-v4-x 10.0.0.2
                add felix-tmp-v4-x 10.0.0.3
                swap felix-tmp-v4-x felix-v4-x
                destroy felix-tmp-v4-x

                """),
            Restore("destroy felix-v4-x\n"), Restore("rename felix-v4-x other\n"), Restore("swap L L\nflush L\ndestroy felix-v4-x\n"),
        ],
        ["restore-is-not-a-transaction"] =
        [
            Restore("create felix-v4-b hash:ip\ncreate felix-v4-c hash:ip\nadd felix-v4-c 10.0.0.9\ndestroy nosuch\nadd felix-v4-b 10.0.0.10\n"),
            Restore("create s hash:ip\ncreate t hash:net\n"),
            Restore("add s 10.0.0.6\nadd nosuch 10.0.0.1\n"), Restore("add s 10.0.0.4\nadd s 2001::1\nadd s 10.0.0.5\n"),
            Restore("add s 10.0.0.7\ncreate bad hash:foo\n"), Restore("add s 10.0.0.3\nadd s 10.0.0.8 extra\n"),
            Restore("add s 10.9.0.1\nadd s 10.0.0.1\nadd s 10.9.0.1\nadd s 10.9.0.3\n"),
            Restore("add s 10.0.0.11\nadd t 10.1.0.0/16\nadd t 10.2.0.0/16\nadd t 10.2.0.0/16\n"),
            Restore("del s 10.9.0.1\ndel s 10.9.0.7\ndel s 10.0.0.1\n"), Restore("add s 10.0.0.12\ncreate s hash:ip\n"),
            Restore("add s 10.0.0.13\ncreate z hash:ip\nadd s 10.0.0.13\ncreate y hash:ip\n"),
            Restore("add s 10.0.1.1\nCOMMIT\nadd s bogus\n"), Restore("add s 10.0.1.2\nquit\nadd nosuch 1.2.3.4\n"),
            Restore("# comment\n\ncreate c hash:ip\r\n   \n  # indented\n  add\tc   10.0.0.3  \nadd c 10.0.0.5\nadd nosuch 10.0.0.1"),
            Restore("add c 10.0.0.5\nadd c 10.0.0.6"),
        ],
        ["exist"] =
        [
            Restore("create s hash:ip\ncreate t hash:ip\nadd s 10.0.0.1\n"),
            Restore("add s 10.0.0.2 -exist\nadd s 10.0.0.1\n"), Restore("add s 10.0.0.3\nadd s 10.0.0.1 -exist\n"),
            Restore("add t 10.0.0.4 -exist\nadd s 10.0.0.1\n"), Restore("create u hash:ip -exist\nCOMMIT\nadd s 10.0.0.1\n"),
            Restore("-! add s 10.0.0.1\nadd -exist s 10.0.0.1\n"),
            Restore("create s hash:ip family inet6 hashsize 4096\nadd s 10.0.0.9\ndel s 10.9.9.9\ndestroy nosuch\n", "-exist"),
            Restore("create s hash:ip hashsize 4096 bucketsize 4\nadd s 10.0.0.9\ndel s 10.9.9.9\ndestroy nosuch\n", "-exist"),
            Restore("add s 10.0.0.1\ndel s 10.9.9.8\n", "-!"), Restore("destroy nosuch -exist\n"), Restore("flush nosuch\n", "-exist"),
            Run("-exist add s 10.0.0.1"), Run("add -exist s 10.0.0.1"), Run("add s 10.0.0.1 -exist"), Run("add s 10.0.0.1"),
            Run("-exist create s hash:ip maxelem 65536"), Run("create s hash:ip maxelem 5 -exist"), Run("del s 10.0.0.99 -!"),
        ],
        ["restore-remembers-created-families"] =
        [
            Restore("create s hash:ip\n"), Restore("create s hash:ip family inet6 -exist\nadd s ::1\n"),
            Restore("create s hash:ip family inet6 -exist\ndel s ::1 -exist\n"), Restore("create s hash:ip family inet6 -exist\nadd s 10.0.0.1\n"),
            Restore("add s 10.0.0.2\ncreate s hash:ip family inet6 -exist\nrename s s2\nadd s2 10.0.0.1\n"), Restore("rename s2 s\n"),
            Restore("create s hash:ip family inet6 -exist\ncreate t hash:ip family inet6\nswap s t\nadd t 10.0.0.1\n"),
            Restore("create s hash:ip family inet6 -exist\ndestroy t\nadd s 10.0.0.1\n"),
            Restore("create s hash:ip family inet6 -exist\nflush\ndestroy\ncreate s hash:ip\nadd s 10.0.0.1\n"),
            Restore("create u hash:ip\ncreate w hash:ip\nadd u 10.0.0.1\nswap u w\nadd w 10.0.0.2\nrename w x\nadd x 10.0.0.3\n"),
            Restore("create y hash:ip family inet6\ncreate n6 hash:net family inet6\n"),
            .. new[] { "y 10.0.0.1", "y 10.0.0.1/32", "y 10.0.0.0/30", "y 10.0.0.1-10.0.0.2", "y 0.0.0.0", "n6 10.0.0.1", "n6 10.0.0.0/0", "n6 10.0.0.0-10.0.0.5" }
                .SelectMany(element => new[] { $"add {element}", $"del {element} -exist" })
                .Select(line => Restore($"create y hash:ip -exist\ncreate n6 hash:net -exist\n{line}\n")),
        ],
        ["message-capacity"] =
        [
            Restore("create m hash:ip\ncreate felix-v4-abcdefghijklmnopqrstuv hash:ip\ncreate m6 hash:ip family inet6\n"
                + "create n4 hash:net\ncreate felix-n6-abcdefghijklmnopqrstuv hash:net family inet6\n"),
            Filled("m", 400, "10.8.{0}.{1}"), Filled("felix-v4-abcdefghijklmnopqrstuv", 400, "10.8.{0}.{1}"),
            Filled("m6", 250, "2001:db8::{0}:{1}"), Filled("n4", 300, "10.{0}.{1}.0/24"), Filled("n4", 200, "10.9.{0}.{1}"),
            Filled("felix-n6-abcdefghijklmnopqrstuv", 200, "2001:db8:{0}:{1}::/64"), Run("flush m"), Filled("m", 300, "10.8.{0}.{1}/32"),
            Run("flush m"), Filled("m", 300, "10.8.{0}.{1}-10.8.{0}.{1}"), Run("flush m"),
            Restore(string.Concat(Enumerable.Range(1, 200).Select(i => $"add m 10.7.0.{i}\n")) + "del m 10.7.0.1\n"
                + string.Concat(Enumerable.Range(2, 170).Select(i => $"del m 10.7.0.{i}\n")) + "del m bogus\n"),
            Run("flush m"), WithDuplicate("m", 200, 100), Run("flush m"), WithDuplicate("m", 200, 180),
            Run("flush m"), WithDuplicate("m", 400, 350),
        ],
        ["list-set-capacity"] =
        [
            Restore(string.Concat(Enumerable.Range(1, 250).Select(i => $"create x{i} hash:ip\n")) + "create L list:set\n"),
            Restore(string.Concat(Enumerable.Range(1, 250).Select(i => $"add L x{i}\n")) + "add L abcdefghijklmnopqrstuvwxyz0123456789\n"),
            Restore("flush L\n" + string.Concat(Enumerable.Range(1, 100).Select(i => $"add L x{i}\n")) + "add L nosuch\nadd L x101\n"),
        ],
        ["restore-errors"] = [Restore(ErrorBase), .. FailingLines.Select(line => Restore($"# line 3 fails\nadd a 10.0.0.2\n{line}\nadd a 10.0.0.3\n"))],
        ["single-command-errors"] = [Restore(ErrorBase), .. FailingLines.Select(Run)],
        ["usage-errors"] =
        [
            Restore(ErrorBase), .. UsageLines.Select(line => Restore($"add a 10.0.0.2\n{line}\n")), .. UsageLines.Select(Run),
            new([], null), Run("bogus"), Run("list a b"), Run("save a b"), Restore("", "extra"), Run("list -o"),
            Run("list nosuch"), Run("save nosuch"), Run("flush nosuch"), Run("destroy nosuch"),
        ],
        ["sets"] =
        [
            Restore("create a hash:ip\ncreate b hash:ip\ncreate c hash:ip\ncreate d hash:ip\ncreate L list:set\ncreate L2 list:set\nadd a 10.0.0.1\n"),
            Restore("add L a\nadd L2 a\nadd L b\n"), Restore("destroy a\n"), Restore("destroy\n"), Restore("rename a a2\n"),
            Restore("del L a\nflush L\n"), Restore("destroy L2\nrename a a2\nswap a2 a2\nswap L L2\n"), Restore("destroy L2\n"),
            Restore("flush\ndestroy b\ncreate z hash:ip\n"), Restore("destroy c\ndestroy z\ncreate y hash:ip\ncreate x hash:ip\n"),
            Run("add L nosuch"), Run("add L a2"), Run("add L a2"), Run("add L L"), Run("del L nosuch"),
            Run("del L d"), Run("add L 10.0.0.1"), Restore("create L2 list:set\nadd L2 d\nswap L L2\n"), Restore("destroy\n"),
            Restore("flush\ndestroy\n"),
        ],
        ["create-options-and-limits"] =
        [
            Restore("""
                create h1 hash:ip hashsize 1000
                create h2 hash:ip hashsize 10 bucketsize 5
                create h3 hash:ip hashsize 0 bucketsize 1 maxelem 0
                create h4 hash:ip hashsize 0x400 maxelem 010 bucketsize 64 initval 0x1234
                create h5 hash:ip family ipv6
                create h6 hash:ip -6
                create h7 hash:ip family ipv4 maxelem 2 hashsize 64
                create l1 list:set size 2

                """),
            Restore("add h7 10.0.0.1\nadd h7 10.0.0.2\nadd h7 10.0.0.3\nadd h7 10.0.0.4\n"), Restore("add h7 10.0.0.2 -exist\n"),
            Restore("add h7 10.0.0.5 -exist\n"), Restore("add h3 10.0.0.1\n"), Restore("create l1 list:set size 3 -exist\n"),
        ],
        ["foreign-types"] =
        [
            Restore("create ipp hash:ip,port\nadd ipp 10.0.0.1,80\nadd ipp 10.0.0.1,udp:53\nadd ipp 10.0.0.1,sctp:5\nadd ipp 10.0.0.2,udplite:7\n"
                + "create ipp6 hash:ip,port family inet6\nadd ipp6 2001:db8::1,udp:53\ncreate L list:set\ncreate a hash:ip\nadd L ipp\nadd L a\n"),
            Run("del ipp 10.0.0.1,tcp:80"), Run("add ipp 10.0.0.1,udp:53"), Run("swap ipp a"), Run("del L ipp"), Run("list L"),
        ],
        ["empty"] = [Run("list"), Run("save"), Run("list -n"), Run("list -t"), Restore("destroy\n"), Restore("flush\n")],
    };

    private static Step Restore(string input, params string[] options) => new(["restore", .. options], input);

    private static Step Run(string line) => new(line.Split(' ', StringSplitOptions.RemoveEmptyEntries), null);

    /// <summary>
    /// <paramref name="count"/> adds where line <paramref name="duplicate"/> repeats line 1: the
    /// messages sent before the one holding it stay applied, and its lines before the duplicate.
    /// </summary>
    private static Step WithDuplicate(string set, int count, int duplicate) =>
        Restore(string.Concat(Enumerable.Range(1, count).Select(i =>
            string.Create(CultureInfo.InvariantCulture, $"add {set} 10.6.{(i == duplicate ? 1 : i) / 250}.{((i == duplicate ? 1 : i) % 250) + 1}\n"))));

    /// <summary><paramref name="count"/> adds from <paramref name="pattern"/> then a line the tool rejects: only full messages were sent.</summary>
    private static Step Filled(string set, int count, string pattern) =>
        Restore(string.Concat(Enumerable.Range(1, count).Select(i =>
            $"add {set} {string.Format(CultureInfo.InvariantCulture, pattern, i / 250, (i % 250) + 1)}\n")) + $"add {set} bogus\n");
}
