using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;

namespace Felix.Agent.Datastore.Etcd;

/// <summary>How to reach etcd: endpoints and, for https, the trust anchor and client certificate.</summary>
public sealed record EtcdConnectionOptions(IReadOnlyList<Uri> Endpoints, string? CaFile, string? CertFile, string? KeyFile)
{
    public bool UsesTls => CaFile is not null || CertFile is not null;
}

/// <summary>
/// gRPC channels to the configured endpoints, one at a time: the current one is used until a call
/// fails to reach it, then the next is tried. With TLS settings every endpoint must be https — a
/// plaintext fallback would silently drop the protection the operator configured — and the server
/// is checked against EtcdCaFile only (not the system store), so a certificate signed by anyone
/// else is refused.
/// </summary>
public sealed class EtcdConnection : IDisposable
{
    private readonly GrpcChannel[] _channels;
    private int _current;

    public EtcdConnection(EtcdConnectionOptions options)
    {
        if (options.Endpoints.Count == 0)
        {
            throw new ArgumentException("no etcd endpoints", nameof(options));
        }
        if (options.UsesTls && options.Endpoints.FirstOrDefault(e => e.Scheme != Uri.UriSchemeHttps) is { } plain)
        {
            throw new InvalidOperationException(
                $"etcd endpoint {plain.OriginalString} is not https, but EtcdCaFile/EtcdCertFile are set: refusing to connect without TLS");
        }
        var clientCertificates = LoadClientCertificate(options);
        FailureHint = options.UsesTls && clientCertificates is null
            ? "if etcd requires client certificates, set EtcdCertFile and EtcdKeyFile"
            : null;
        var trustAnchors = LoadCa(options.CaFile);
        _channels = [.. options.Endpoints.Select(endpoint => GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions
        {
            HttpHandler = CreateHandler(clientCertificates, trustAnchors, options.CaFile),
            DisposeHttpClient = true,
            MaxReceiveMessageSize = 256 * 1024 * 1024,
            // gRPC's own reconnect backoff grows to 2 minutes by default: after a long etcd outage
            // the agent would notice etcd's return that late. Keep it in step with the syncer's cap.
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(500),
            MaxReconnectBackoff = TimeSpan.FromSeconds(10),
        }))];
    }

    public GrpcChannel Current => _channels[Volatile.Read(ref _current) % _channels.Length];

    /// <summary>
    /// Said after a failed connection over TLS without a client certificate: etcd with
    /// <c>--client-cert-auth</c> drops such clients mid-handshake, which .NET reports only vaguely.
    /// </summary>
    public string? FailureHint { get; }

    /// <summary>Why the last server certificate was refused, in words an operator can act on.</summary>
    public string? LastTlsRejection { get; private set; }

    public string CurrentEndpoint => Current.Target;

    /// <summary>Moves on to the next endpoint after <paramref name="failed"/> could not be reached.</summary>
    public void Failover(GrpcChannel failed)
    {
        var index = Array.IndexOf(_channels, failed);
        if (index >= 0)
        {
            Interlocked.CompareExchange(ref _current, (index + 1) % _channels.Length, index);
        }
    }

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }

    private static X509Certificate2Collection? LoadClientCertificate(EtcdConnectionOptions options)
    {
        if (options.CertFile is null || options.KeyFile is null)
        {
            return null;
        }
        try
        {
            return [X509Certificate2.CreateFromPemFile(options.CertFile, options.KeyFile)];
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException)
        {
            throw new InvalidOperationException(
                $"cannot load the etcd client certificate {options.CertFile} with key {options.KeyFile}: {e.Message}", e);
        }
    }

    private static X509Certificate2Collection? LoadCa(string? caFile)
    {
        if (caFile is null)
        {
            return null;
        }
        var anchors = new X509Certificate2Collection();
        try
        {
            anchors.ImportFromPemFile(caFile);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException)
        {
            throw new InvalidOperationException($"cannot load the etcd CA certificate {caFile}: {e.Message}", e);
        }
        if (anchors.Count == 0)
        {
            throw new InvalidOperationException($"the etcd CA file {caFile} holds no PEM certificate");
        }
        return anchors;
    }

    private SocketsHttpHandler CreateHandler(X509Certificate2Collection? clientCertificates, X509Certificate2Collection? trustAnchors, string? caFile)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            ConnectTimeout = TimeSpan.FromSeconds(5),
        };
        handler.SslOptions.ClientCertificates = clientCertificates;
        if (trustAnchors is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                var rejection = certificate is null ? "etcd sent no certificate" : Validate(certificate, trustAnchors, errors, caFile!);
                LastTlsRejection = rejection;
                return rejection is null;
            };
        }
        return handler;
    }

    /// <summary>Null when the certificate is signed by the anchors and names the host; else why not.</summary>
    private static string? Validate(X509Certificate certificate, X509Certificate2Collection anchors, SslPolicyErrors errors, string caFile)
    {
        using var server = new X509Certificate2(certificate);
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return $"etcd's certificate ({server.Subject}) does not name the host in EtcdEndpoints";
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(anchors);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain.Build(server))
        {
            return null;
        }
        var status = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Distinct());
        return $"etcd's certificate ({server.Subject}, issued by {server.Issuer}) is not signed by the CA in EtcdCaFile {caFile}: {status}";
    }
}
