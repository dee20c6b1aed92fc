using System.Text.Json;

namespace Felix.IntegrationTests.Fixtures;

/// <summary>
/// Asks an etcd member's /health endpoint whether it can serve requests. etcd 3.4 answers
/// <c>{"health":"true"}</c> (a string) only once it has a leader and a quorum read succeeds;
/// newer versions use a JSON boolean, and both are accepted.
/// </summary>
public static class EtcdHealthProbe
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    /// <summary>True when the member says it is healthy; false when it is unreachable or not yet ready.</summary>
    /// <param name="http">For a TLS member, a client that presents a certificate; else the shared one.</param>
    public static async Task<bool> IsHealthyAsync(string clientUrl, CancellationToken cancellationToken, HttpClient? http = null)
    {
        http ??= Http;
        try
        {
            using var response = await http.GetAsync(new Uri(clientUrl + "/health"), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return false;
            }

            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("health", out var health)
                && (health.ValueKind == JsonValueKind.True
                    || (health.ValueKind == JsonValueKind.String && health.GetString() == "true"));
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The per-request timeout, not the caller's token: the member is just slow.
            return false;
        }
    }
}
