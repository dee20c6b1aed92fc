using System.Net;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// Where a namespaced <see cref="EtcdServer"/> runs: inside <paramref name="Namespace"/>, serving
/// clients on <paramref name="Address"/>, which must already be configured on an interface there.
/// </summary>
public sealed record EtcdPlacement(NetNs Namespace, IPAddress Address);
