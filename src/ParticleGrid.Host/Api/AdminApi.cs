using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using ParticleGrid.Abstractions;
using ParticleGrid.Storage;

namespace ParticleGrid.Host.Api;

/// <summary>What only an admin may do: make access tokens, register and activate model sets, read the gate and its overrides.</summary>
public static class AdminApi
{
    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/").RequireAuthorization(Auth.Policies.Administer);
        admin.MapPost("/tokens", CreateToken);
        admin.MapGet("/models", ListModelSets);
        admin.MapPost("/models", RegisterModelSet);
        admin.MapPost("/models/{version}/activate", ActivateModelSet);
        admin.MapGet("/models/{version}/gate", GetGate);
        admin.MapPost("/models/{version}/gate", EvaluateGate);
        admin.MapGet("/models/gate/overrides", GateOverrides);
        return admin;
    }

    public static async Task<Ok<CreatedToken>> CreateToken(TokenRequest request, IParticleStore store)
    {
        var (token, stored) = await Auth.AccessTokens.CreateAsync(store, request.Role ?? "", request.Name ?? "");
        return TypedResults.Ok(new CreatedToken(token, stored.TokenId, stored.Name, stored.Role, stored.CreatedUtc));
    }

    public static async Task<Ok<ModelSets>> ListModelSets(IGrainFactory grains)
    {
        var registry = Registry(grains);
        return TypedResults.Ok(new ModelSets((await registry.GetActive())?.Version, await registry.List()));
    }

    public static async Task<Ok<ModelSetInfo>> RegisterModelSet(ModelSetRequest request, IGrainFactory grains) =>
        TypedResults.Ok(await Registry(grains).Register(request.Directories ?? []));

    public static async Task<Results<Ok<ModelSetInfo>, Ok<OverriddenActivation>>> ActivateModelSet(string version, HttpContext http, ClaimsPrincipal user, IGrainFactory grains)
    {
        // The body is optional: a plain activation is gated; {"override": true, "reason": "..."} is an admin's audited decision.
        var request = http.Request.ContentLength is > 0 || http.Request.Headers.TransferEncoding.Count > 0
            ? await http.Request.ReadFromJsonAsync<ActivationRequest>() : null;
        var registry = Registry(grains);
        if (request?.Override != true) return TypedResults.Ok(await registry.Activate(version));
        if (string.IsNullOrWhiteSpace(request.Reason)) throw new ArgumentException("an override of the gate needs a reason; it is audited");
        var set = await registry.ActivateOverridingGate(version, user.Identity?.Name ?? "admin", request.Reason);
        return TypedResults.Ok(new OverriddenActivation(set, await registry.GetGate(version)));
    }

    public static async Task<Results<Ok<ModelSetGateReport>, NotFound<ApiError>>> GetGate(string version, IGrainFactory grains) =>
        await Registry(grains).GetGate(version) is { } report
            ? TypedResults.Ok(report)
            : TypedResults.NotFound(new ApiError($"model set {version} has not been through the gate; POST /models/{version}/gate evaluates it"));

    public static async Task<Ok<ModelSetGateReport>> EvaluateGate(string version, IGrainFactory grains) =>
        TypedResults.Ok(await Registry(grains).EvaluateGate(version));

    public static async Task<Ok<IReadOnlyList<GateOverride>>> GateOverrides(IGrainFactory grains) =>
        TypedResults.Ok(await Registry(grains).GetGateAudit());

    private static IModelRegistryGrain Registry(IGrainFactory grains) => grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site);
}
