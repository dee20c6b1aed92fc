using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// Certificates for a TLS etcd, made with openssl in a directory the caller owns: a CA, a server
/// certificate for 127.0.0.1 signed by it, a client certificate signed by it, and a second CA that
/// signed nothing here — the "wrong CA" a client must refuse to trust.
/// </summary>
public sealed record EtcdTls(string CaFile, string ServerCertFile, string ServerKeyFile, string ClientCertFile,
    string ClientKeyFile, string OtherCaFile)
{
    public static async Task<EtcdTls> CreateAsync(string directory)
    {
        var openssl = Require.Executable("openssl", "openssl");
        string F(string name) => Path.Combine(directory, name);
        async Task Run(params string[] arguments) => await CommandRunner.RunCheckedAsync(openssl, arguments);

        foreach (var ca in new[] { "ca", "other-ca" })
        {
            await Run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", F($"{ca}.key"), "-out", F($"{ca}.pem"), "-days", "2", "-subj", $"/CN=felix-it-{ca}");
        }
        await File.WriteAllTextAsync(F("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
        await File.WriteAllTextAsync(F("client.ext"), "extendedKeyUsage=clientAuth\n");
        foreach (var leaf in new[] { "server", "client" })
        {
            await Run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", F($"{leaf}.key"), "-out", F($"{leaf}.csr"), "-subj", $"/CN=felix-it-{leaf}");
            await Run("x509", "-req", "-in", F($"{leaf}.csr"), "-CA", F("ca.pem"), "-CAkey", F("ca.key"),
                "-CAcreateserial", "-out", F($"{leaf}.pem"), "-days", "2", "-extfile", F($"{leaf}.ext"));
        }
        return new EtcdTls(F("ca.pem"), F("server.pem"), F("server.key"), F("client.pem"), F("client.key"), F("other-ca.pem"));
    }

    /// <summary>An HTTP client that presents the client certificate and trusts only the CA.</summary>
    public HttpClient CreateHttpClient()
    {
        var ca = X509CertificateLoader.LoadCertificateFromFile(CaFile);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(ClientCertFile, ClientKeyFile)];
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                return false;
            }
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(new X509Certificate2(certificate));
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
    }
}
