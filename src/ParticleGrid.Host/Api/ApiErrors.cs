using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace ParticleGrid.Host.Api;

/// <summary>What a request got wrong comes back as JSON {error} with the fitting status, never as a stack trace.</summary>
public static class ApiErrors
{
    public static async Task WriteAsync(HttpContext http)
    {
        var error = http.Features.Get<IExceptionHandlerFeature>()?.Error;
        (int status, string message) = error switch
        {
            BadQueryException e => (StatusCodes.Status400BadRequest, e.Message),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } e => (e.StatusCode,
                $"the request body is larger than this route accepts ({http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize:N0} bytes; ParticleGrid:Limits)"),
            // A body that is not the JSON the route expects: which parameter, and where the JSON went wrong.
            BadHttpRequestException { InnerException: System.Text.Json.JsonException json } e => (e.StatusCode, $"{e.Message} {json.Message}"),
            BadHttpRequestException e => (e.StatusCode, e.Message),
            ArgumentException e => (StatusCodes.Status400BadRequest, e.Message),
            Abstractions.ModelSetRefusedException e => (StatusCodes.Status400BadRequest, e.Message),
            _ => (StatusCodes.Status500InternalServerError, "the server failed on this request; its log has the details"),
        };
        http.Response.StatusCode = status;
        await http.Response.WriteAsJsonAsync(new { error = message });
    }

    /// <summary>
    /// Refuses a body whose declared length is over the route's limit before anything reads it, with the limit in
    /// the answer. (A bound JSON parameter that runs into the limit while reading gets only a bare 413 from ASP.NET
    /// Core, which treats it as an I/O error; this covers every request that states its length.) Runs after routing,
    /// which sets the route's limit (the batch route's is larger).
    /// </summary>
    public static IApplicationBuilder UseDeclaredBodyLimit(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        var size = http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>();
        long? limit = size?.MaxRequestBodySize;
        if (limit is not null && http.Request.ContentLength is { } length && length > limit)
        {
            http.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            await http.Response.WriteAsJsonAsync(new
            {
                error = $"the request body ({length:N0} bytes) is larger than this route accepts ({limit:N0} bytes; ParticleGrid:Limits)",
            });
            await http.Response.CompleteAsync();
            // The answer is out; the body the client is still sending is read and thrown away (a buffer at a time, so it
            // costs no memory), up to a bound. Closing the connection on unread data instead makes TCP reset it, and
            // the client loses the answer it had not read yet: it would see a broken connection, not why.
            if (length <= MaxDiscardedBodyBytes && size is { IsReadOnly: false })
            {
                size.MaxRequestBodySize = null;
                try { await http.Request.Body.CopyToAsync(Stream.Null, http.RequestAborted); }
                catch (Exception e) when (e is IOException or OperationCanceledException or BadHttpRequestException) { }
            }
            return;
        }
        await next(http);
    });

    /// <summary>The largest refused body read to its end so the client gets the refusal: beyond, the connection is closed.</summary>
    private const long MaxDiscardedBodyBytes = 256L * 1024 * 1024;
}
