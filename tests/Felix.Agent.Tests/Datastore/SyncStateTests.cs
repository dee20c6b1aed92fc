using System.Text;
using Felix.Agent.Datastore;
using Felix.Agent.Model;

namespace Felix.Agent.Tests.Datastore;

public class SyncStateTests
{
    private const string Ready = "/calico/v1/Ready";
    private readonly SyncState _state = new("host1", new ModelOptions("cali"));
    private long _revision;

    private static string EndpointKey(string id, string host = "host1") => $"/calico/v1/host/{host}/workload/k8s/{id}/endpoint/eth0";

    private static string Endpoint(string iface, string ip) =>
        $$"""{"state":"active","name":"{{iface}}","mac":"96:c4:86:4d:d7:2c","profile_ids":["db"],"ipv4_nets":["{{ip}}/32"]}""";

    private static (string, ReadOnlyMemory<byte>, long) Item(string key, string value, long revision = 1) =>
        (key, Encoding.UTF8.GetBytes(value), revision);

    private void Put(string key, string value) => _state.Apply(key, Encoding.UTF8.GetBytes(value), ++_revision);

    private void Delete(string key) => _state.Apply(key, null, ++_revision);

    private List<string> Take() => [.. _state.TakeUpdates().Select(Describe)];

    private static string Describe(DatastoreUpdate update) => update switch
    {
        WorkloadEndpointChanged u => $"set {u.Key.WorkloadId}",
        WorkloadEndpointRemoved u => $"remove {u.Key.WorkloadId}",
        ConfigChanged u => $"config {u.Key.Path}={u.Value.Raw}",
        ConfigRemoved u => $"unconfig {u.Key.Path}",
        DatastoreInSync => "in sync",
        _ => update.GetType().Name,
    };

    [Fact]
    public void Nothing_is_delivered_until_Ready_then_everything_and_in_sync()
    {
        _state.LoadSnapshot([Item(EndpointKey("a"), Endpoint("cali1", "10.0.0.1"))]);
        Assert.Empty(Take());
        Assert.False(_state.InSync);

        Put(Ready, "true");
        Assert.Equal(["set a", "in sync"], Take());
        Assert.True(_state.InSync);
    }

    [Fact]
    public void A_resync_delivers_only_the_difference_and_no_second_in_sync()
    {
        _state.LoadSnapshot([Item(Ready, "true"), Item(EndpointKey("same"), Endpoint("cali1", "10.0.0.1")),
            Item(EndpointKey("gone"), Endpoint("cali2", "10.0.0.2")), Item(EndpointKey("edit"), Endpoint("cali3", "10.0.0.3"))]);
        Take();

        _state.LoadSnapshot([Item(Ready, "true"), Item(EndpointKey("same"), Endpoint("cali1", "10.0.0.1"), 9),
            Item(EndpointKey("edit"), Endpoint("cali3", "10.0.0.33"), 9), Item(EndpointKey("new"), Endpoint("cali4", "10.0.0.4"), 9)]);

        Assert.Equal(["set edit", "remove gone", "set new"], Take());
    }

    [Fact]
    public void An_identical_resync_delivers_nothing()
    {
        (string, ReadOnlyMemory<byte>, long)[] snapshot = [Item(Ready, "true"), Item(EndpointKey("a"), Endpoint("cali1", "10.0.0.1"))];
        _state.LoadSnapshot(snapshot);
        Take();
        _state.LoadSnapshot(snapshot);
        Assert.Empty(Take());
    }

    [Fact]
    public void An_invalid_value_replacing_a_valid_one_is_a_removal_reported_once_per_revision()
    {
        _state.LoadSnapshot([Item(Ready, "true"), Item(EndpointKey("a"), Endpoint("cali1", "10.0.0.1"))]);
        Take();

        Put(EndpointKey("a"), Endpoint("cali1", "300.0.0.1"));
        Assert.Equal(["remove a"], Take());
        var rejected = Assert.Single(_state.TakeRejected());
        Assert.Equal("endpoint", rejected.Kind);
        Assert.Contains("300.0.0.1", rejected.Reason, StringComparison.Ordinal);

        // The same invalid revision seen again on a resync is not reported again.
        _state.LoadSnapshot([Item(Ready, "true"), (EndpointKey("a"), Encoding.UTF8.GetBytes(Endpoint("cali1", "300.0.0.1")), _revision)]);
        Assert.Empty(Take());
        Assert.Empty(_state.TakeRejected());

        Put(EndpointKey("a"), "{broken");
        Assert.Single(_state.TakeRejected());
    }

    [Fact]
    public void Ready_turning_false_holds_back_updates_until_it_is_true_again()
    {
        _state.LoadSnapshot([Item(Ready, "true"), Item(EndpointKey("a"), Endpoint("cali1", "10.0.0.1"))]);
        Take();

        Put(Ready, "false");
        Delete(EndpointKey("a"));
        Put(EndpointKey("b"), Endpoint("cali2", "10.0.0.2"));
        Assert.Empty(Take());
        Assert.False(_state.InSync);

        Put(Ready, "true");
        Assert.Equal(["remove a", "set b", "in sync"], Take());
    }

    [Fact]
    public void Only_this_hosts_config_is_delivered_and_unknown_keys_are_ignored()
    {
        _state.LoadSnapshot([
            Item(Ready, "true"),
            Item("/calico/v1/config/LogSeverityScreen", "DEBUG"),
            Item("/calico/v1/host/host1/config/MetadataPort", "9000"),
            Item("/calico/v1/host/host2/config/MetadataPort", "9001"),
            Item("/calico/v1/somethingnew/x", "y"),
        ]);

        Assert.Equal(["config /calico/v1/config/LogSeverityScreen=DEBUG", "config /calico/v1/host/host1/config/MetadataPort=9000", "in sync"], Take());
        Assert.Equal(["/calico/v1/somethingnew/x"], _state.TakeIgnored());
    }

    [Fact]
    public void Cluster_counts_follow_deliveries()
    {
        _state.LoadSnapshot([
            Item(Ready, "true"),
            Item(EndpointKey("a"), Endpoint("cali1", "10.0.0.1")),
            Item(EndpointKey("b", "host2"), Endpoint("cali2", "10.0.0.2")),
            Item("/calico/v1/host/host3/bird_ip", "192.168.78.23"),
            Item("/calico/v1/policy/profile/db/rules", "{}"),
            Item("/calico/v1/policy/profile/db/tags", "[\"db\"]"),
            Item("/calico/v1/policy/profile/web/tags", "[\"web\"]"),
        ]);
        Take();
        Assert.Equal(new ClusterCounts(Hosts: 3, WorkloadEndpoints: 2, Profiles: 2), _state.Counts);

        Delete(EndpointKey("b", "host2"));
        Delete("/calico/v1/policy/profile/db/rules");
        Take();
        Assert.Equal(new ClusterCounts(Hosts: 2, WorkloadEndpoints: 1, Profiles: 2), _state.Counts);
    }
}
