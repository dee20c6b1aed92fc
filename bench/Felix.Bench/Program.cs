using Felix.Bench;

// felix-bench [startup] [--runs N] [--aot PATH] [--jit PATH]
// Every figure is printed next to its floor, measured in the same run.
var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: Felix.Bench [startup] [--runs N] [--aot out/felix/felix] [--jit path/to/felix.dll]");
    return 2;
}
return await StartupBench.RunAsync(options);
