namespace Felix.Dataplane;

/// <summary>
/// The two IP families, numbered as the datastore and the kernel tools number them (<c>ip_version: 4</c>,
/// <c>ipset ... family inet</c>, <c>iptables</c> vs <c>ip6tables</c>). Shared by the model and the
/// dataplane so a family travels from an etcd value to a restore batch without translation.
/// </summary>
public enum IpVersion
{
    V4 = 4,
    V6 = 6,
}
