using System.Globalization;
using Felix.Dataplane.Routes;

namespace Felix.Dataplane.Tests.Fakes;

/// <summary>
/// An in-memory <c>/proc/sys/net</c>: the global parameters the agent looks at, plus one directory
/// set per interface, with the kernel's defaults. Removing an interface removes its parameters, as
/// the kernel does. Every write is recorded; hooks let a test fail an access or make an interface
/// vanish just before one.
/// </summary>
internal sealed class FakeSysctls : ISysctls
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public FakeSysctls(bool ipv6 = true)
    {
        _values["net/ipv4/ip_forward"] = "0";
        _values["net/ipv4/conf/all/rp_filter"] = "0";
        if (ipv6)
        {
            _values["net/ipv6/conf/all/forwarding"] = "0";
        }
    }

    public List<(string Path, int Value)> Writes { get; } = [];

    public int Reads { get; private set; }

    /// <summary>Called with the path before every read and write.</summary>
    public Action<string>? BeforeAccess { get; set; }

    /// <summary>A non-null answer fails the access with that error.</summary>
    public Func<string, string?>? Fail { get; set; }

    /// <summary>The parameters a new interface has (kernel defaults); <paramref name="ipv6"/> false for one with an MTU below 1280.</summary>
    public void AddInterface(string name, bool ipv6 = true)
    {
        foreach (var key in new[] { "proxy_arp", "rp_filter", "forwarding", "route_localnet" })
        {
            _values[$"net/ipv4/conf/{name}/{key}"] = "0";
        }
        _values[$"net/ipv4/neigh/{name}/proxy_delay"] = "80";
        if (ipv6 && _values.ContainsKey("net/ipv6/conf/all/forwarding"))
        {
            _values[$"net/ipv6/conf/{name}/proxy_ndp"] = "0";
            _values[$"net/ipv6/conf/{name}/forwarding"] = "0";
            _values[$"net/ipv6/conf/{name}/accept_ra"] = "1";
        }
    }

    public void RemoveInterface(string name)
    {
        foreach (var path in _values.Keys.Where(p => p.Contains($"/{name}/", StringComparison.Ordinal)).ToList())
        {
            _values.Remove(path);
        }
    }

    public bool HasInterface(string name) => _values.ContainsKey($"net/ipv4/conf/{name}/proxy_arp");

    public string? this[string path]
    {
        get => _values.GetValueOrDefault(path);
        set => _values[path] = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Every parameter of the interface, <c>path=value</c>, sorted.</summary>
    public IReadOnlyList<string> Of(string name) =>
        [.. _values.Where(kv => kv.Key.Contains($"/{name}/", StringComparison.Ordinal)).Select(kv => $"{kv.Key}={kv.Value}").Order(StringComparer.Ordinal)];

    public SysctlResult Read(SysctlPath path)
    {
        var relative = Checked(path);
        Reads++;
        BeforeAccess?.Invoke(relative);
        if (Fail?.Invoke(relative) is { } error)
        {
            return SysctlResult.Failed(error);
        }
        return _values.TryGetValue(relative, out var value) ? SysctlResult.Read(value) : SysctlResult.Missing;
    }

    public SysctlResult Write(SysctlPath path, int value)
    {
        var relative = Checked(path);
        BeforeAccess?.Invoke(relative);
        if (Fail?.Invoke(relative) is { } error)
        {
            return SysctlResult.Failed(error);
        }
        if (!_values.ContainsKey(relative))
        {
            return SysctlResult.Missing;
        }
        Writes.Add((relative, value));
        _values[relative] = value.ToString(CultureInfo.InvariantCulture);
        return SysctlResult.Done;
    }

    /// <summary>Whatever the agent passes must stay under <c>net/</c>: the fake refuses loudly otherwise.</summary>
    private static string Checked(SysctlPath path)
    {
        var relative = path.Relative;
        if (!relative.StartsWith("net/", StringComparison.Ordinal) || relative.Split('/').Any(s => s is "" or "." or ".."))
        {
            throw new InvalidOperationException($"sysctl path {relative} escapes net/");
        }
        return relative;
    }
}
