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
            BadHttpRequestException e => (e.StatusCode, e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "the request is too large" : e.Message),
            ArgumentException e => (StatusCodes.Status400BadRequest, e.Message),
            Abstractions.ModelSetRefusedException e => (StatusCodes.Status400BadRequest, e.Message),
            _ => (StatusCodes.Status500InternalServerError, "the server failed on this request; its log has the details"),
        };
        http.Response.StatusCode = status;
        await http.Response.WriteAsJsonAsync(new { error = message });
    }
}
