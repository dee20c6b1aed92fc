using Felix.Bench;

// Felix.Bench [startup|datastore|calc|render|iptables|ipsets|routes|e2e|all] [--quick] [--runs N] [--aot PATH] [--jit PATH]
//   [--backend nft|legacy|both] [--sizes 100,1000,10000] [--cluster M] [--profiles P] [--samples N] [--churn-seconds S]
// Every figure is printed next to its floor, measured in the same run.
var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: Felix.Bench [startup|datastore|calc|render|iptables|ipsets|routes|e2e|all] [--quick] [--runs N] [--aot out/felix/felix] [--jit path/to/felix.dll] " +
        "[--backend nft|legacy|both] [--sizes 100,1000,10000] [--cluster M] [--profiles P] [--samples N] [--churn-seconds S]");
    return 2;
}
var status = 0;
if (options.Scenario is "startup" or "all")
{
    // The agent programs the namespace it runs in once it is in sync: never the root namespace.
    status |= !BenchNamespace.IsInside
        ? await BenchNamespace.RunInsideAsync(
            ["startup", "--runs", options.Runs.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--aot", Path.GetFullPath(options.AotBinary), "--jit", Path.GetFullPath(options.JitAssembly)])
        : await StartupBench.RunAsync(options);
}
if (options.Scenario is "datastore" or "all")
{
    status |= options.Quick
        ? await DatastoreBench.RunAsync(endpoints: 2_000, profiles: 50, samples: 50)
        : await DatastoreBench.RunAsync(endpoints: 100_000, profiles: 1_000, samples: 500);
}
if (options.Scenario is "calc" or "all")
{
    status |= options.Quick
        ? CalculationBench.Run(endpoints: 2_000, profiles: 50, local: 200, samples: 5)
        : CalculationBench.Run(endpoints: 100_000, profiles: 1_000, local: 10_000, samples: 20);
}
if (options.Scenario is "render" or "all")
{
    status |= options.Quick
        ? RenderBench.Run(endpoints: 1_000, profiles: 100, runs: 5, samples: 10)
        : RenderBench.Run(endpoints: 10_000, profiles: 1_000, runs: 5, samples: 10);
}
if (options.Scenario is "iptables" or "all")
{
    status |= options.Quick
        ? await IptablesBench.RunAsync(endpoints: 1_000, profiles: 100, coldRuns: 2, changes: 10)
        : await IptablesBench.RunAsync(endpoints: 10_000, profiles: 1_000, coldRuns: 3, changes: 20);
}
if (options.Scenario is "ipsets" or "all")
{
    // Its change figure is a few milliseconds, of which ip netns exec alone would be half: measure from inside.
    status |= !BenchNamespace.IsInside
        ? await BenchNamespace.RunInsideAsync(options.Quick ? ["ipsets", "--quick"] : ["ipsets"])
        : options.Quick
        ? await IpsetsBench.RunAsync(members: 10_000, coldRuns: 3, changes: 10)
        : await IpsetsBench.RunAsync(members: 100_000, coldRuns: 5, changes: 50);
}
if (options.Scenario is "routes" or "all")
{
    // ip -batch and the agent's netlink socket both belong in the bench's namespace: run from inside it.
    status |= !BenchNamespace.IsInside
        ? await BenchNamespace.RunInsideAsync(options.Quick ? ["routes", "--quick"] : ["routes"])
        : options.Quick
        ? await RoutesBench.RunAsync(coldRoutes: 1_000, refreshRoutes: 10_000, runs: 3)
        : await RoutesBench.RunAsync(coldRoutes: 10_000, refreshRoutes: 100_000, runs: 5);
}
if (options.Scenario is "e2e" or "all")
{
    // etcd on the namespace's loopback, the agent programming the namespace, the probes reading it: all inside.
    // One namespace (and one etcd) per backend: nothing one backend left can be read by the other's agent.
    if (BenchNamespace.IsInside)
    {
        status |= await E2eBench.RunAsync(options.AotBinary, options.E2e(options.Backends[0]));
    }
    else
    {
        foreach (var backend in options.Backends)
        {
            status |= await BenchNamespace.RunInsideAsync(["e2e", "--backend", backend, "--aot", Path.GetFullPath(options.AotBinary),
                .. options.E2eOverrides, .. options.Quick ? (string[])["--quick"] : []]);
        }
    }
}
return status;
