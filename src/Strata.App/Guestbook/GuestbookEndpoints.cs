using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Strata.Data.Messages;
using Strata.Data;
using Strata.Hosting.Admin;

namespace Strata.App.Guestbook;

/// <summary>
/// The guestbook's JSON API. Bad input of any kind (query, content type, JSON, fields) answers 400 with an RFC 9457
/// validation problem whose <c>errors</c> are keyed by field ("body" for the request as a whole), so one client
/// code path can show them all.
/// </summary>
internal static class GuestbookEndpoints
{
    public const string Path = "/api/messages";
    public const int DefaultLimit = 50;
    public const int MaxLimit = 100;

    /// <summary>Ample for the longest valid message even with every character JSON-escaped.</summary>
    public const long MaxBodyBytes = 16 * 1024;

    public static IEndpointRouteBuilder MapGuestbookApi(this IEndpointRouteBuilder endpoints)
    {
        var messages = endpoints.MapGroup(Path);
        messages.MapGet("/", ListAsync);
        messages.MapGet("/{id:long}", FindAsync);
        messages.MapPost("/", AddAsync);
        messages.MapDelete("/{id:long}", DeleteAsync);
        return endpoints;
    }

    private static async Task<Results<Ok<IReadOnlyList<Message>>, ValidationProblem>> ListAsync(
        HttpRequest request, IMessageStore store, CancellationToken cancellationToken)
    {
        var limit = DefaultLimit;
        if (request.Query.TryGetValue("limit", out var values)
            && (values.Count != 1
                || !int.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out limit)
                || limit < 1
                || limit > MaxLimit))
        {
            return Invalid("limit", $"limit must be a whole number from 1 to {MaxLimit}");
        }

        if (!request.Query.TryGetValue("before", out var before))
        {
            return TypedResults.Ok(await store.LatestAsync(limit, cancellationToken));
        }

        if (before.Count != 1 || !long.TryParse(before[0], NumberStyles.None, CultureInfo.InvariantCulture, out var beforeId) || beforeId < 1)
        {
            return Invalid("before", "before must be the id of a message (a whole number from 1)");
        }

        return TypedResults.Ok(await store.OlderAsync(beforeId, limit, cancellationToken));
    }

    /// <summary>
    /// DELETE /api/messages/{id}, for the admin token (strata.json's admin.token, else STRATA_ADMIN_TOKEN, as the
    /// proxies' admin API): 204, 404 when there is no such message, 401 without the token, 403 when none is set.
    /// </summary>
    private static async Task<IResult> DeleteAsync(long id, HttpContext context, IMessageStore store, Topology.Topology topology, CancellationToken cancellationToken)
    {
        if (AdminToken.Resolve(topology.AdminToken) is not { } token)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Deleting messages needs an admin token", detail: "Set admin.token in strata.json (strata up sets one per run).");
        }

        if (!token.Matches(context.Request.Headers.Authorization))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "The admin token is missing or wrong");
        }

        return await store.DeleteAsync(id, cancellationToken)
            ? TypedResults.NoContent()
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such message", detail: $"There is no message {id}.");
    }

    private static async Task<Results<Ok<Message>, ProblemHttpResult>> FindAsync(
        long id, IMessageStore store, CancellationToken cancellationToken)
    {
        var message = await store.FindAsync(id, cancellationToken);
        return message is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such message", detail: $"There is no message {id}.")
            : TypedResults.Ok(message);
    }

    private static async Task<IResult> AddAsync(
        HttpContext context, IMessageStore store, IAntiforgery antiforgery, CancellationToken cancellationToken)
    {
        var request = context.Request;
        if (request.HasFormContentType)
        {
            return await AddFromFormAsync(context, store, antiforgery, cancellationToken);
        }

        if (!request.HasJsonContentType())
        {
            return Invalid("body", "Content-Type must be application/json (or a form from the home page)");
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit)
        {
            sizeLimit.MaxRequestBodySize = MaxBodyBytes;
        }

        NewMessageRequest? body;
        try
        {
            body = await request.ReadFromJsonAsync(GuestbookJsonContext.Default.NewMessageRequest, cancellationToken);
        }
        catch (JsonException ex)
        {
            return ex.Path is "$.author" or "$.text"
                ? Invalid(ex.Path[2..], $"{ex.Path[2..]} must be a string of valid Unicode text")
                : Invalid("body", "the body must be a JSON object with string fields author and text");
        }
        catch (Exception ex) when (ex is BadHttpRequestException or IOException)
        {
            return BodyRejected(ex);
        }

        if (body is null)
        {
            return Invalid("body", "the body must be a JSON object with string fields author and text");
        }

        if (!body.TryValidate(out var author, out var text, out var errors))
        {
            return TypedResults.ValidationProblem(errors);
        }

        var message = await store.AddAsync(author, text, cancellationToken);
        return TypedResults.Created($"{Path}/{message.Id.ToString(CultureInfo.InvariantCulture)}", message);
    }

    /// <summary>
    /// The home page's form without JavaScript: a form post, so it must carry the page's antiforgery token (a
    /// cross-site form could post otherwise); then Post/Redirect/Get back to the page. A JSON post needs no token:
    /// browsers send cross-site JSON only after a CORS preflight, which this API never grants.
    /// </summary>
    private static async Task<IResult> AddFromFormAsync(HttpContext context, IMessageStore store, IAntiforgery antiforgery, CancellationToken cancellationToken)
    {
        IFormCollection form;
        try
        {
            // Read here, where a body Kestrel rejects is the client's error; the antiforgery check reads it again from the cache.
            form = await context.Request.ReadFormAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is BadHttpRequestException or IOException)
        {
            return BodyRejected(ex);
        }

        try
        {
            await antiforgery.ValidateRequestAsync(context);
        }
        catch (AntiforgeryValidationException)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "The form's antiforgery token is missing or invalid",
                detail: "Reload the home page and sign again.");
        }

        if (!new NewMessageRequest(form["author"], form["text"]).TryValidate(out var author, out var text, out var errors))
        {
            return TypedResults.ValidationProblem(errors);
        }

        await store.AddAsync(author, text, cancellationToken);
        context.Response.Headers.Location = "/";
        return TypedResults.StatusCode(StatusCodes.Status303SeeOther);
    }

    /// <summary>
    /// Kestrel's own verdicts on a body it could not read: its status (413 over MaxBodyBytes, 400 for broken framing,
    /// 408 too slow), or 400 for the IOException it throws for a chunk size that overflows (a 500 would blame the app).
    /// </summary>
    private static ProblemHttpResult BodyRejected(Exception ex) => TypedResults.Problem(
        statusCode: ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest,
        title: "The request body was rejected",
        detail: ex.Message);

    private static ValidationProblem Invalid(string field, string error) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]>(StringComparer.Ordinal) { [field] = [error] });
}
