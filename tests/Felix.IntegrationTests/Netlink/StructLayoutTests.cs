using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Netlink;

/// <summary>
/// The netlink structs of <c>Felix.Dataplane.Netlink.Interop</c> against the system's own headers:
/// a C program compiled here prints <c>sizeof</c> and every field's <c>offsetof</c>, and each must
/// equal the managed layout. Field names are the C names, so the program is generated from the
/// managed structs and a renamed or reordered field shows up as a compile error or a mismatch.
/// </summary>
public sealed class StructLayoutTests
{
    private static readonly (string Type, string Header)[] Structs =
    [
        ("nlmsghdr", "linux/netlink.h"),
        ("nlmsgerr", "linux/netlink.h"),
        ("rtattr", "linux/rtnetlink.h"),
        ("sockaddr_nl", "linux/netlink.h"),
        ("rtmsg", "linux/rtnetlink.h"),
        ("ifinfomsg", "linux/rtnetlink.h"),
        ("ndmsg", "linux/neighbour.h"),
        ("timeval", "sys/time.h"),
        ("nfgenmsg", "linux/netfilter/nfnetlink.h"),
    ];

    [Fact]
    public async Task Every_struct_has_the_size_and_field_offsets_of_the_system_headers()
    {
        var compiler = Require.Executable("gcc", "gcc");
        var assembly = typeof(Felix.Dataplane.Netlink.RouteNetlink).Assembly;
        var program = new StringBuilder("#include <stdio.h>\n#include <stddef.h>\n#include <sys/socket.h>\n");
        foreach (var header in Structs.Select(s => s.Header).Distinct())
        {
            program.Append("#include <").Append(header).Append(">\n");
        }
        program.Append("int main(void) {\n");
        var expected = new StringBuilder();
        foreach (var (name, _) in Structs)
        {
            var type = assembly.GetType($"Felix.Dataplane.Netlink.Interop.{name}", throwOnError: true)!;
            var cName = $"struct {name}";
            program.Append($"  printf(\"{name} %zu\\n\", sizeof({cName}));\n");
            expected.Append($"{name} {Marshal.SizeOf(type)}\n");
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
            {
                program.Append($"  printf(\"{name}.{field.Name} %zu\\n\", offsetof({cName}, {field.Name}));\n");
                expected.Append($"{name}.{field.Name} {Marshal.OffsetOf(type, field.Name)}\n");
            }
        }
        program.Append("  return 0;\n}\n");

        var directory = Directory.CreateTempSubdirectory("felix-structs-");
        try
        {
            var source = Path.Combine(directory.FullName, "layout.c");
            var binary = Path.Combine(directory.FullName, "layout");
            await File.WriteAllTextAsync(source, program.ToString());
            var compiled = await CommandRunner.RunAsync(compiler, [source, "-o", binary], TimeSpan.FromSeconds(60));
            Assert.True(compiled.ExitCode == 0, $"gcc failed:\n{compiled.StandardError}\n{program}");
            var run = await CommandRunner.RunAsync(binary, [], TimeSpan.FromSeconds(10));

            Assert.Equal(expected.ToString(), run.StandardOutput);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
