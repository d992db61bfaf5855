using System.Globalization;
using System.Net;
using System.Text;

namespace Strata.Proxy.Stats;

/// <summary>
/// The HTML of <c>/stats</c>, in the spirit of HAProxy's stats page: one table per backend, one row per server.
/// Written by hand: it is one small table, and a template engine would be a dependency for twenty lines.
/// Every value from the report is HTML-encoded (server names and check details come from configuration and peers).
/// </summary>
internal static class StatsPage
{
    public static string Render(StatsReport report)
    {
        var html = new StringBuilder(2048);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
            .Append(Encode(report.Node)).Append(" statistics</title>\n")
            .Append("<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}")
            .Append("th,td{border:1px solid #999;padding:.25em .6em;text-align:right}th:first-child,td:first-child{text-align:left}")
            .Append("caption{text-align:left;font-weight:bold;padding:.3em 0}.UP{background:#c0f0c0}.DOWN{background:#f0a0a0}")
            .Append(".DRAIN{background:#a0c8f0}.MAINT{background:#c8c8c8}</style>\n</head>\n<body>\n<h1>")
            .Append(Encode(report.Node)).Append(" statistics</h1>\n<p>Taken at ")
            .Append(Encode(report.At.ToString("u", CultureInfo.InvariantCulture))).Append(". JSON: <a href=\"?format=json\">?format=json</a>.</p>\n<p>Answering ")
            .Append(Rate(report.RequestsPerSecond)).Append(" requests/s, ").Append(Rate(report.ServerErrorsPerSecond))
            .Append(" of them 5xx (the last 10 s).</p>\n");

        foreach (var backend in report.Backends)
        {
            html.Append("<table>\n<caption>backend ").Append(Encode(backend.Name))
                .Append(": algorithm ").Append(Encode(backend.Algorithm))
                .Append(", queue ").Append(backend.QueueLength)
                .Append(", ").Append(backend.Healthy).Append(" of ").Append(backend.Servers.Count).Append(" healthy</caption>\n")
                .Append("<tr><th>server</th><th>state</th><th>weight</th><th>active</th><th>requests</th><th>req/s</th><th>failures</th><th>fail/s</th><th>last check</th><th>check age</th></tr>\n");
            foreach (var server in backend.Servers)
            {
                html.Append("<tr class=\"").Append(Encode(server.State)).Append("\"><td>").Append(Encode(server.Name))
                    .Append("</td><td>").Append(Encode(server.State))
                    .Append("</td><td>").Append(server.Weight)
                    .Append("</td><td>").Append(server.ActiveRequests)
                    .Append("</td><td>").Append(server.TotalRequests)
                    .Append("</td><td>").Append(Rate(server.RequestsPerSecond))
                    .Append("</td><td>").Append(server.TotalFailures)
                    .Append("</td><td>").Append(Rate(server.FailuresPerSecond))
                    .Append("</td><td>").Append(server.LastCheck is { } check ? Encode(check.Detail) : "none yet")
                    .Append("</td><td>").Append(server.LastCheck is { } c ? Encode(c.AgeSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s") : "")
                    .Append("</td></tr>\n");
            }

            html.Append("</table>\n");
        }

        if (report.Certificates is { Count: > 0 } certificates)
        {
            html.Append("<table>\n<caption>TLS certificates</caption>\n<tr><th>names</th><th>expires</th><th>in</th></tr>\n");
            foreach (var certificate in certificates)
            {
                html.Append("<tr").Append(certificate.ExpiresInDays < 14 ? " class=\"DOWN\"" : "").Append("><td>").Append(Encode(certificate.Names))
                    .Append("</td><td>").Append(Encode(certificate.NotAfter.ToString("u", CultureInfo.InvariantCulture)))
                    .Append("</td><td>").Append(Encode(certificate.ExpiresInDays.ToString("0.0", CultureInfo.InvariantCulture) + " days"))
                    .Append("</td></tr>\n");
            }

            html.Append("</table>\n");
        }

        return html.Append("</body>\n</html>\n").ToString();
    }

    private static string Encode(string value) => WebUtility.HtmlEncode(value);

    private static string Rate(double perSecond) => perSecond.ToString("0.##", CultureInfo.InvariantCulture);
}
