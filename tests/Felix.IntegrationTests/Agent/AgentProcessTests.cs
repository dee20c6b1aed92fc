using System.Globalization;
using System.Net;
using Felix.IntegrationTests.Fixtures;

namespace Felix.IntegrationTests.Agent;

/// <summary>The published agent binary as an operator meets it: start, endpoints, logs, stop.</summary>
public sealed class AgentProcessTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    // The promise made to systemd: a stop takes at most 5 s (the unit's timeout is far longer).
    private static readonly TimeSpan StopPromise = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Serves_health_and_metrics_then_stops_on_SIGTERM_with_exit_code_0()
    {
        // The acceptance command: only the two ports set, metrics on the default 0.0.0.0 (every IPv4 address).
        await using var agent = await AgentProcess.StartAsync(new Dictionary<string, string> { ["FELIX_PROMETHEUSMETRICSHOST"] = "0.0.0.0" });
        await agent.WaitForLivenessAsync(StartTimeout);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

        using var liveness = await http.GetAsync(new Uri($"http://127.0.0.1:{agent.HealthPort}/liveness"));
        using var readiness = await http.GetAsync(new Uri($"http://localhost:{agent.HealthPort}/readiness"));
        var metrics = await http.GetStringAsync(new Uri($"http://localhost:{agent.MetricsPort}/metrics"));

        Assert.Equal(HttpStatusCode.OK, liveness.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readiness.StatusCode);
        Assert.Contains("# TYPE felix_ready gauge", metrics, StringComparison.Ordinal);
        Assert.Contains("\nfelix_ready 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("# TYPE process_cpu_seconds_total counter", metrics, StringComparison.Ordinal);

        await agent.SignalAsync("TERM");
        Assert.Equal(0, await agent.WaitForExitAsync(StopPromise));
        Assert.Contains(agent.StandardOutput, line => line.Contains("Felix stopped", StringComparison.Ordinal));
        // Stopped while its etcd (a dead port) was being retried: still nothing logged as a failure.
        Assert.DoesNotContain(agent.StandardOutput, l => l.Contains("[ERROR]", StringComparison.Ordinal) || l.Contains("[CRITICAL]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bad_value_exits_1_with_one_line_naming_the_parameter_and_the_allowed_values()
    {
        await using var agent = await AgentProcess.StartAsync(new Dictionary<string, string> { ["FELIX_IPTABLESBACKEND"] = "bogus" });

        Assert.Equal(1, await agent.WaitForExitAsync(StartTimeout));
        var line = Assert.Single(agent.StandardOutput.Concat(agent.StandardError), l => l.Length > 0);
        Assert.Contains("IptablesBackend", line, StringComparison.Ordinal);
        Assert.Contains("\"bogus\"", line, StringComparison.Ordinal);
        Assert.Contains("FELIX_IPTABLESBACKEND", line, StringComparison.Ordinal);
        Assert.Contains("auto, legacy, nft", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_config_file_named_on_the_command_line_exits_1()
    {
        await using var agent = await AgentProcess.StartAsync(arguments: ["--config-file", "/nonexistent/felix.cfg"]);

        Assert.Equal(1, await agent.WaitForExitAsync(StartTimeout));
        var line = Assert.Single(agent.StandardError);
        Assert.Contains("/nonexistent/felix.cfg", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_config_file_configures_the_agent_and_the_environment_overrides_it()
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, "[global]\nLogSeverityScreen = DEBUG\nHealthPort = 1\n");
            await using var agent = await AgentProcess.StartAsync(arguments: ["--config-file", file]);
            await agent.WaitForLivenessAsync(StartTimeout);

            Assert.Contains(agent.StandardOutput, l => l.Contains("[DEBUG]", StringComparison.Ordinal));
            Assert.Contains(agent.StandardOutput, l => l.Contains($"LogSeverityScreen set by config file {file} line 2", StringComparison.Ordinal));
            Assert.Contains(agent.StandardOutput, l => l.Contains("HealthPort set by environment variable FELIX_HEALTHPORT", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Under_journald_every_line_carries_its_priority_and_a_warning_is_one_line_with_4()
    {
        await using var agent = await AgentProcess.StartAsync(new Dictionary<string, string>
        {
            ["JOURNAL_STREAM"] = "8:12345",
            ["FELIX_NOSUCHPARAMETER"] = "1",
        });
        await agent.WaitForLivenessAsync(StartTimeout);
        await agent.SignalAsync("TERM");
        await agent.WaitForExitAsync(StopPromise);

        var warning = Assert.Single(agent.StandardOutput, l => l.Contains("NOSUCHPARAMETER", StringComparison.Ordinal));
        Assert.StartsWith("<4>", warning, StringComparison.Ordinal);
        Assert.All(agent.StandardOutput, l => Assert.Matches("^<[2-7]>", l));
    }

    [Fact]
    public async Task Version_and_help_print_and_exit_0()
    {
        await using var version = await AgentProcess.StartAsync(arguments: ["--version"]);
        await using var help = await AgentProcess.StartAsync(arguments: ["--help"]);

        Assert.Equal(0, await version.WaitForExitAsync(StartTimeout));
        Assert.Equal(0, await help.WaitForExitAsync(StartTimeout));
        Assert.Matches(@"^felix \d+\.\d+\.\d+", Assert.Single(version.StandardOutput));
        Assert.Contains(help.StandardOutput, l => l.Contains("--config-file PATH", StringComparison.Ordinal));
        Assert.Contains(help.StandardOutput, l => l.TrimStart().StartsWith("IptablesBackend ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Runs_in_a_network_namespace_of_its_own_that_is_deleted_with_it()
    {
        var agent = await AgentProcess.StartAsync();
        string name;
        try
        {
            await agent.WaitForLivenessAsync(StartTimeout);
            name = agent.Namespace;
            var identified = await CommandRunner.RunCheckedAsync("ip", ["netns", "identify", agent.ProcessId.ToString(CultureInfo.InvariantCulture)]);

            // The dataplane it programs is the namespace's, never that of the machine running the tests.
            Assert.StartsWith(NetworkNamespaces.FixturePrefix, name, StringComparison.Ordinal);
            Assert.Equal(name, identified.StandardOutput.Trim());
            Assert.NotEqual(NetworkNamespaceOf("self"), NetworkNamespaceOf(agent.ProcessId.ToString(CultureInfo.InvariantCulture)));
        }
        finally
        {
            await agent.DisposeAsync();
        }
        Assert.DoesNotContain(name, await NetworkNamespaces.ListNamespacesAsync());
    }

    [Fact]
    public async Task Runs_inside_a_simulated_host_namespace()
    {
        await using var network = new NetworkNamespaces();
        var host = await network.CreateNamespaceAsync("host");
        await using var agent = await AgentProcess.StartAsync(inside: host);

        // The agent's loopback is the namespace's own: probe it from inside, bounded.
        var answered = false;
        for (var attempt = 0; attempt < 100 && !answered; attempt++)
        {
            var probe = await host.ExecAsync(TimeSpan.FromSeconds(5), "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                "--max-time", "1", $"http://127.0.0.1:{agent.HealthPort}/readiness");
            answered = probe.StandardOutput == "503";
            if (!answered)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100));
            }
        }
        Assert.True(answered, agent.Output());
        // And bridged out to root loopback, like an agent in a namespace of its own.
        Assert.Equal(host.Name, agent.Namespace);
        await agent.WaitForLivenessAsync(StartTimeout);

        await agent.SignalAsync("TERM");
        Assert.Equal(0, await agent.WaitForExitAsync(StopPromise));
    }

    // e.g. "net:[4026531840]": equal links, same namespace.
    private static string NetworkNamespaceOf(string process) =>
        new FileInfo($"/proc/{process}/ns/net").LinkTarget ?? throw new InvalidOperationException($"/proc/{process}/ns/net is not a link");
}
