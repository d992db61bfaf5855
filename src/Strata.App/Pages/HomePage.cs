using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Strata.Data.Messages;
using Strata.Data;
using Strata.Topology;

namespace Strata.App.Pages;

/// <summary>
/// GET /: the server-rendered home page. Every user-supplied string goes through the HTML encoder, so a message
/// holding markup shows as text. The static assets it links are served by the web tier, not this node.
/// </summary>
internal static class HomePage
{
    public const int MessageCount = 20;
    public const string ContentType = "text/html; charset=utf-8";

    // Keeps non-ASCII text readable in the page source; markup-significant characters are still encoded.
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    public static IEndpointRouteBuilder MapHomePage(this IEndpointRouteBuilder endpoints, string siteName)
    {
        endpoints.MapGet("/", async (HttpContext context, IMessageStore store, IAntiforgery antiforgery, NodeSpec node, CancellationToken cancellationToken) =>
        {
            var messages = await store.LatestAsync(MessageCount, cancellationToken);
            // The form also works without JavaScript, as a form post: that needs the antiforgery token (and cookie).
            var token = antiforgery.GetAndStoreTokens(context);
            return TypedResults.Content(Render(siteName, node.Name, messages, (token.FormFieldName, token.RequestToken ?? "")), ContentType);
        });
        return endpoints;
    }

    internal static string Render(string siteName, string nodeName, IReadOnlyList<Message> messages, (string Name, string Value)? antiforgery = null)
    {
        var hidden = antiforgery is { } field
            ? $"<input type=\"hidden\" name=\"{Encoder.Encode(field.Name)}\" value=\"{Encoder.Encode(field.Value)}\">\n"
            : "";
        var site = Encoder.Encode(siteName);
        var html = new StringBuilder(2048 + (messages.Count * 256));
        html.Append(CultureInfo.InvariantCulture, $"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{site}</title>
            <link rel="stylesheet" href="/static/site.css">
            <link rel="icon" href="/static/logo.png">
            <script src="/static/site.js" defer></script>
            </head>
            <body>
            <header>
            <img src="/static/logo.png" alt="{site} logo" class="logo">
            <h1>{site}</h1>
            </header>
            <main>
            <section class="sign" aria-labelledby="sign-heading">
            <h2 id="sign-heading">Sign the guestbook</h2>
            <form id="guestbook-form" method="post" action="/api/messages">
            {hidden}<label for="author">Name</label>
            <input id="author" name="author" type="text" maxlength="64" required autocomplete="name">
            <label for="text">Message</label>
            <input id="text" name="text" type="text" maxlength="1000" required>
            <button type="submit">Sign</button>
            <p id="guestbook-status" role="status" aria-live="polite"></p>
            </form>
            </section>
            <section class="latest" aria-labelledby="latest-heading">
            <h2 id="latest-heading">Latest messages</h2>

            """);

        if (messages.Count == 0)
        {
            html.Append("<p class=\"empty\">No messages yet. Be the first to sign.</p>\n");
        }

        html.Append("<ol id=\"guestbook-messages\" class=\"messages\">\n");
        foreach (var message in messages)
        {
            var utc = message.CreatedAt.UtcDateTime;
            html.Append(CultureInfo.InvariantCulture, $"""
                <li class="message" data-id="{message.Id}">
                <p class="message-text">{Encoder.Encode(message.Text)}</p>
                <p class="message-meta"><span class="message-author">{Encoder.Encode(message.Author)}</span>, <time datetime="{utc:yyyy-MM-ddTHH:mm:ss.fffZ}">{utc:yyyy-MM-dd HH:mm} UTC</time></p>
                </li>

                """);
        }

        html.Append(CultureInfo.InvariantCulture, $"""
            </ol>
            </section>
            </main>
            <footer>Served by <span class="served-by">{Encoder.Encode(nodeName)}</span></footer>
            </body>
            </html>

            """);
        return html.ToString();
    }
}
