using System.Net;
using Microsoft.Playwright;

namespace Strata.Tests.Common;

/// <summary>
/// A real browser for tests: Debian's chromium driven by Playwright, headless and kept off the network with the flags
/// of FINDINGS.md (no background traffic, no host reached but 127.0.0.1 and the loopback addresses a test names);
/// nothing is downloaded, <c>playwright install</c> is never run. Each page it opens records what a user would find in the developer console: console
/// messages, uncaught errors and Content-Security-Policy violations.
/// </summary>
internal sealed class Browser : IAsyncDisposable
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private static readonly string[] Flags =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    // Runs in every document before its own scripts (not subject to its policy), reporting each violation to the test.
    private const string ReportViolations = """
        document.addEventListener('securitypolicyviolation', e =>
          window.strataViolation(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`));
        """;

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private Browser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        _browser = browser;
    }

    /// <summary>Why a browser test cannot run here, or null.</summary>
    public static string? Unavailable => File.Exists(ExecutablePath) ? null : $"{ExecutablePath} is missing (apt-get install chromium)";

    /// <summary>Starts chromium; it reaches 127.0.0.1 and <paramref name="loopback"/> (e.g. the VIP), nothing else.</summary>
    /// <exception cref="ArgumentException">An address is not a loopback one.</exception>
    public static async Task<Browser> LaunchAsync(params IPAddress[] loopback)
    {
        if (loopback.FirstOrDefault(a => !IPAddress.IsLoopback(a)) is { } outside)
        {
            throw new ArgumentException($"{outside} is not a loopback address: the browser stays on this machine", nameof(loopback));
        }

        // Every other name, IP literals included, resolves to nothing: no DNS query leaves the machine.
        var resolverRules = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1" + string.Concat(loopback.Select(a => $" , EXCLUDE {a}"));
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                Args = [.. Flags, resolverRules],
                Timeout = 60_000,
            });
            return new Browser(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A page in a context of its own (cookies, storage), recording its console; <paramref name="javaScript"/> off as with NoScript.</summary>
    public async Task<BrowserPage> NewPageAsync(bool javaScript = true)
    {
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { JavaScriptEnabled = javaScript });
        var page = new BrowserPage(context, await context.NewPageAsync());
        await context.ExposeFunctionAsync("strataViolation", (string violation) => page.Record("CSP violation: " + violation));
        await context.AddInitScriptAsync(ReportViolations);
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.CloseAsync();
        _playwright.Dispose();
    }
}

/// <summary>One page of <see cref="Browser"/> and what its console showed.</summary>
internal sealed class BrowserPage : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    private readonly List<string> _problems = [];

    public BrowserPage(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
        page.Console += (_, message) => Record($"console {message.Type}: {message.Text} ({message.Location})");
        page.PageError += (_, error) => Record("uncaught: " + error);
        page.SetDefaultTimeout(20_000);
    }

    public IPage Page { get; }

    /// <summary>Everything the console showed so far: console messages of any kind, uncaught errors, policy violations.</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            lock (_problems)
            {
                return [.. _problems];
            }
        }
    }

    /// <summary>Opens <paramref name="url"/> and waits until the page and what it loads are in (no request for 500 ms).</summary>
    public async Task<IResponse> GoAsync(Uri url)
    {
        var response = await Page.GotoAsync(url.ToString(), new PageGotoOptions { WaitUntil = WaitUntilState.NetworkIdle });
        return response ?? throw new InvalidOperationException($"no response for {url}");
    }

    internal void Record(string problem)
    {
        lock (_problems)
        {
            _problems.Add(problem);
        }
    }

    public async ValueTask DisposeAsync() => await _context.CloseAsync();
}
