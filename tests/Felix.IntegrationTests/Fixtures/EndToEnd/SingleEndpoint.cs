namespace Felix.IntegrationTests.Fixtures.EndToEnd;

/// <summary>The smallest deployment that gives an agent something to program: one workload, in the article's profile <c>db</c>.</summary>
public static class SingleEndpoint
{
    /// <summary>
    /// Adds workload <paramref name="name"/> on <paramref name="host"/> and writes the article's model
    /// with that one endpoint (profiles, its tags, pools, <c>/calico/v1/Ready</c>) into the cluster's etcd.
    /// </summary>
    public static async Task<ClusterWorkload> AddDbEndpointAsync(this Cluster cluster, ClusterHost host, string name, bool ipv6 = true)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var workload = await cluster.AddWorkloadAsync(host, name, ipv6);
        using var client = cluster.CreateEtcdClient();
        await ArticleWriter.WriteAsync(client, new ArticleModel(cluster.Hosts, [(workload, ArticleModel.Db)]));
        return workload;
    }
}
