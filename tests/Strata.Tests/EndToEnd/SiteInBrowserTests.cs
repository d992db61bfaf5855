using System.Net;
using Strata.Tests.Common;
using Xunit.Abstractions;

namespace Strata.Tests.EndToEnd;

/// <summary>
/// The site's pages through the VIP of a running topology in a real browser (<see cref="Browser"/>): each renders its
/// content under the security headers the web tier adds, with nothing in the console — no policy violation, no error,
/// no message.
/// </summary>
[Collection(SeedTopology.Collection)]
public sealed class SiteInBrowserTests(SeedTopology topology, ITestOutputHelper output)
{
    [Fact]
    public async Task EveryPage_RendersUnderTheSecurityHeaders_NothingInTheConsole()
    {
        Requirements.CheckOrReport(Browser.Unavailable, output);
        var site = topology.Run.Site;
        var text = $"signed in a browser {Guid.NewGuid():N}";
        await using var browser = await Browser.LaunchAsync(IPAddress.Parse(site.Host));
        await using var page = await browser.NewPageAsync();

        // The home page, the guestbook: signed with its form (site.js posts JSON, then reloads the page).
        var home = await page.GoAsync(site);
        Assert.Equal(200, home.Status);
        Assert.Equal("default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'", await home.HeaderValueAsync("content-security-policy"));
        Assert.Equal("DENY", await home.HeaderValueAsync("x-frame-options"));
        Assert.Equal("rgb(251, 251, 253)", await page.Page.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor"));
        Assert.True(await page.Page.EvaluateAsync<bool>("document.querySelector('header img').naturalWidth > 0"), "the logo did not load");
        await page.Page.FillAsync("#author", "browser");
        await page.Page.FillAsync("#text", text);
        await page.Page.ClickAsync("button[type=submit]");
        await page.Page.Locator("#guestbook-messages .message-text", new() { HasTextString = text }).WaitForAsync();

        // A static page of the web root, and the web tier's 404 page (web.errorPages) for a file that is not there.
        var unavailable = await page.GoAsync(new Uri(site, "/50x.html"));
        Assert.Equal(200, unavailable.Status);
        Assert.Equal("We'll be right back", await page.Page.TextContentAsync("main h2"));
        var missing = await page.GoAsync(new Uri(site, "/static/no-such-page.html"));
        Assert.Equal(404, missing.Status);
        Assert.Equal("Page not found", await page.Page.TextContentAsync("main h2"));
        Assert.Equal("nosniff", await missing.HeaderValueAsync("x-content-type-options"));

        // Chromium reports the 404 of the page it was asked for itself; anything else is the site's.
        var problems = page.Problems.Where(p => !p.Contains("status of 404 (Not Found) (" + missing.Url, StringComparison.Ordinal)).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task Guestbook_WithoutJavaScript_TheFormPostSignsIt()
    {
        Requirements.CheckOrReport(Browser.Unavailable, output);
        var text = $"signed without JavaScript {Guid.NewGuid():N}";
        await using var browser = await Browser.LaunchAsync(IPAddress.Parse(topology.Run.Site.Host));
        await using var page = await browser.NewPageAsync(javaScript: false);

        await page.GoAsync(topology.Run.Site);
        await page.Page.FillAsync("#author", "no-script");
        await page.Page.FillAsync("#text", text);
        // A form post with the page's antiforgery token (form-action 'self'), answered 303 back to the page.
        await page.Page.ClickAsync("button[type=submit]");
        await page.Page.Locator("#guestbook-messages .message-text", new() { HasTextString = text }).WaitForAsync();

        Assert.True(page.Problems.Count == 0, string.Join("\n", page.Problems));
    }
}
