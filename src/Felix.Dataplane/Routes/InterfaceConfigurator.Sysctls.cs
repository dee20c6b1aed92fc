using System.Globalization;

namespace Felix.Dataplane.Routes;

/// <summary>
/// The kernel-parameter half of the configuration (why each parameter: see the class's design
/// comment). Every parameter is read first and written only when it differs. They are set before
/// the link goes up, so a workload never sees its interface up with router advertisements accepted
/// or without the reverse-path check.
/// </summary>
public sealed partial class InterfaceConfigurator
{
    /// <summary>Reverse-path filter first: the one that keeps a workload from spoofing.</summary>
    private static readonly (InterfaceSysctl Key, int Value)[] Ipv4Settings =
    [
        (InterfaceSysctl.RpFilter, 1),
        (InterfaceSysctl.ProxyArp, 1),
        (InterfaceSysctl.ProxyDelay, 0),
        (InterfaceSysctl.Ipv4Forwarding, 1),
    ];

    private static readonly (InterfaceSysctl Key, int Value)[] RouteLocalnetSettings = [(InterfaceSysctl.RouteLocalnet, 1)];

    private static readonly (InterfaceSysctl Key, int Value)[] Ipv6Settings =
    [
        (InterfaceSysctl.AcceptRa, 0),
        (InterfaceSysctl.ProxyNdp, 1),
        (InterfaceSysctl.Ipv6Forwarding, 1),
    ];

    private static readonly (InterfaceSysctl Key, int Value)[] NoIpv6Settings = [(InterfaceSysctl.AcceptRa, 0)];

    /// <summary>Null until the globals step has looked: whether the kernel has IPv6 at all (<c>net/ipv6</c> exists).</summary>
    private bool? _kernelHasIpv6;
    private string? _allRpFilter;

    /// <summary>
    /// <c>ip_forward=1</c>; with IPv6 support <c>conf/all/forwarding=1</c> (learning on the way
    /// whether the kernel has IPv6 at all); a loose <c>conf/all/rp_filter</c> reported once.
    /// </summary>
    private bool ApplyGlobals()
    {
        var changes = new List<string>();
        string? error = null;
        var ok = Ensure(SysctlPath.Ipv4Forward, 1, changes, ref error) is not (Outcome.Failed or Outcome.Missing);
        var ipv6 = _sysctls.Read(SysctlPath.Ipv6AllForwarding);
        if (ipv6.Outcome == SysctlOutcome.Missing)
        {
            if (_kernelHasIpv6 != false && _options.Ipv6Support)
            {
                LogNoIpv6InKernel(_logger);
            }
            _kernelHasIpv6 = false;
        }
        else
        {
            _kernelHasIpv6 = true;
            var outcome = _options.Ipv6Support ? Ensure(SysctlPath.Ipv6AllForwarding, 1, changes, ref error, ipv6) : Outcome.Same;
            ok &= outcome is not (Outcome.Failed or Outcome.Missing);
            if (outcome == Outcome.Changed)
            {
                LogIpv6ForwardingOn(_logger);
            }
        }
        var rpFilter = _sysctls.Read(SysctlPath.Ipv4AllRpFilter);
        if (rpFilter.Outcome == SysctlOutcome.Ok && rpFilter.Value != _allRpFilter)
        {
            _allRpFilter = rpFilter.Value;
            if (rpFilter.Value == "2")
            {
                LogLooseRpFilter(_logger, SysctlPath.Ipv4AllRpFilter.Relative);
            }
        }
        foreach (var change in changes)
        {
            LogGlobalSet(_logger, change);
        }
        if (ok)
        {
            (_globalsNeeded, _globalsRetry) = (false, default);
        }
        else
        {
            _globalsRetry = Next(_globalsRetry, out var delay);
            LogGlobalsFailed(_logger, error ?? "(unknown)", delay.TotalSeconds);
        }
        return ok;
    }

    /// <summary>IPv4 parameters (whose absence means the interface is gone), then IPv6 ones.</summary>
    private Outcome ConfigureSysctls(WorkloadInterface spec, List<string> changes, ref string? error)
    {
        IEnumerable<(InterfaceSysctl Key, int Value)> ipv4 = _options.RouteLocalnet ? [.. Ipv4Settings, .. RouteLocalnetSettings] : Ipv4Settings;
        foreach (var (key, value) in ipv4)
        {
            var outcome = Ensure(SysctlPath.For(spec.Name, key), value, changes, ref error);
            if (outcome is Outcome.Missing or Outcome.Failed)
            {
                return outcome;
            }
        }
        if (_kernelHasIpv6 == false)
        {
            return Outcome.Same;
        }
        var ipv6On = Ipv6On(spec);
        foreach (var (key, value) in ipv6On ? Ipv6Settings : NoIpv6Settings)
        {
            switch (Ensure(SysctlPath.For(spec.Name, key), value, changes, ref error))
            {
                case Outcome.Failed:
                    return Outcome.Failed;
                case Outcome.Missing when _sysctls.Read(SysctlPath.For(spec.Name, InterfaceSysctl.ProxyArp)).Outcome == SysctlOutcome.Missing:
                    return Outcome.Missing;
                case Outcome.Missing when !ipv6On:
                    // No IPv6 on the interface at all (the kernel gives none to a link with an MTU below 1280): no router advertisement can be taken.
                    return Outcome.Same;
                case Outcome.Missing:
                    _metrics.SysctlErrors.Inc();
                    error = $"the interface has no IPv6 (an MTU below 1280?), so {SysctlPath.For(spec.Name, key)} cannot be set";
                    return Outcome.Failed;
            }
        }
        return Outcome.Same;
    }

    /// <summary>Reads the parameter and writes it only when it differs, so a restart writes nothing. A failure is counted and described in <paramref name="error"/>.</summary>
    private Outcome Ensure(SysctlPath path, int value, List<string> changes, ref string? error, SysctlResult? current = null)
    {
        var read = current ?? _sysctls.Read(path);
        if (read.Outcome == SysctlOutcome.Ok
            && int.TryParse(read.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var existing) && existing == value)
        {
            return Outcome.Same;
        }
        var result = read.Outcome == SysctlOutcome.Ok ? _sysctls.Write(path, value) : read;
        switch (result.Outcome)
        {
            case SysctlOutcome.Missing:
                error = $"{path} does not exist";
                return Outcome.Missing;
            case SysctlOutcome.Failed:
                _metrics.SysctlErrors.Inc();
                error = $"{path}: {result.Error}";
                return Outcome.Failed;
        }
        _metrics.SysctlWrites.Inc();
        changes.Add(string.Create(CultureInfo.InvariantCulture, $"{path}={value} (was {read.Value})"));
        return Outcome.Changed;
    }

    private enum Outcome
    {
        Same,
        Changed,
        Missing,
        Failed,
    }
}
