using Felix.Agent.Datastore.Etcd;

namespace Felix.Agent.Tests.Datastore;

/// <summary>What an operator reads when etcd cannot be reached below the gRPC layer.</summary>
public class GrpcEtcdStoreMessageTests
{
    [Fact]
    public void A_transport_failure_names_the_endpoint_and_keeps_the_client_certificate_hint()
    {
        var failure = new IOException("The decryption operation failed, see inner exception.");

        var message = GrpcEtcdStore.TransportFailure("127.0.0.1:2379", failure, "if etcd requires client certificates, set EtcdCertFile and EtcdKeyFile");

        Assert.Equal(
            "etcd 127.0.0.1:2379: IOException: The decryption operation failed, see inner exception. "
            + "(if etcd requires client certificates, set EtcdCertFile and EtcdKeyFile)",
            message);
    }

    [Fact]
    public void Without_a_hint_a_transport_failure_is_just_the_endpoint_and_the_error() =>
        Assert.Equal("etcd 127.0.0.1:2379: HttpRequestException: connection refused",
            GrpcEtcdStore.TransportFailure("127.0.0.1:2379", new HttpRequestException("connection refused"), null));
}
