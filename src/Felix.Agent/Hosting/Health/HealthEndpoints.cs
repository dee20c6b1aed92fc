using System.Text;

namespace Felix.Agent.Hosting.Health;

/// <summary>A response of the health endpoints, before it is written to a socket.</summary>
public sealed record HealthResponse(int Status, string Reason, string Body);

/// <summary>
/// What <c>/liveness</c> and <c>/readiness</c> answer, as a pure function of a request line and a
/// snapshot: 200 when good, 503 when not, with a plain-text body that says why, one line per
/// component, for an operator with curl.
/// </summary>
public static class HealthEndpoints
{
    public static HealthResponse Respond(string method, string target, Func<HealthSnapshot> snapshot)
    {
        if (method is not ("GET" or "HEAD"))
        {
            return new HealthResponse(405, "Method Not Allowed", "only GET and HEAD are supported\n");
        }
        var path = target.Split('?', 2)[0];
        return path switch
        {
            "/liveness" => Verdict(snapshot(), s => s.Live, "live", "not live"),
            "/readiness" => Verdict(snapshot(), s => s.Ready, "ready", "not ready"),
            _ => new HealthResponse(404, "Not Found", "not found: try /liveness or /readiness\n"),
        };
    }

    private static HealthResponse Verdict(HealthSnapshot snapshot, Func<HealthSnapshot, bool> good, string yes, string no)
    {
        var body = new StringBuilder();
        var ok = good(snapshot);
        body.Append(ok ? yes : no).Append('\n');
        if (snapshot.Components.Count == 0)
        {
            body.Append("no component has reported yet\n");
        }
        foreach (var c in snapshot.Components)
        {
            body.Append(c.Name).Append(": ")
                .Append(c.Live ? "live" : "not live").Append(", ")
                .Append(c.Ready ? "ready" : "not ready").Append(" (").Append(c.Detail).Append(")\n");
        }
        return ok
            ? new HealthResponse(200, "OK", body.ToString())
            : new HealthResponse(503, "Service Unavailable", body.ToString());
    }
}
