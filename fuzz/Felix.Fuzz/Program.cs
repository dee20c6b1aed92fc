using Felix.Fuzz;
using SharpFuzz;

// Under afl-fuzz (scripts/fuzz.sh): SharpFuzz's out-of-process loop, so a crash that takes the
// runtime down (stack overflow, a failed allocation) is still reported as the input's crash.
// With --replay: each given file, or each file of each given directory, once, without AFL; the
// way a finding is reproduced and debugged.
if (args.Length < 1 || !FuzzTargets.All.TryGetValue(args[0], out var target) || (args.Length > 1 && args[1] != "--replay"))
{
    Console.Error.WriteLine($"usage: Felix.Fuzz <{string.Join('|', FuzzTargets.All.Keys)}> [--replay FILE|DIRECTORY...]");
    return 2;
}
if (args.Length == 1)
{
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var input = new MemoryStream();
        stream.CopyTo(input);
        target(input.GetBuffer().AsSpan(0, (int)input.Length));
    });
    return 0;
}
var failed = 0;
var files = args.Skip(2).SelectMany(path => Directory.Exists(path) ? Directory.GetFiles(path).Order(StringComparer.Ordinal) : (IEnumerable<string>)[path]).ToList();
foreach (var file in files)
{
    try
    {
        target(File.ReadAllBytes(file));
    }
    catch (Exception e)
    {
        failed++;
        Console.WriteLine($"FAIL {file}: {e}");
    }
}
Console.WriteLine($"{files.Count - failed} of {files.Count} inputs passed");
return failed == 0 ? 0 : 1;
