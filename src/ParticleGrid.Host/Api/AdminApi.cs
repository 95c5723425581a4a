using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using ParticleGrid.Abstractions;
using ParticleGrid.Storage;

namespace ParticleGrid.Host.Api;

/// <summary>A lot's container volume or product changed by an admin (a null keeps the stored value), with the reason the audit trail keeps.</summary>
public sealed record LotChangeRequest(double? ContainerVolumeMl, string? Product, string? Reason);

/// <summary>The lot as changed, and every admin audit entry about it.</summary>
public sealed record LotChange(LotRecord Lot, IReadOnlyList<AdminAuditEntry> Audit);

/// <summary>What only an admin may do: make, list and revoke access tokens, change a lot's volume or product, register and activate model sets, read the gate and its overrides.</summary>
public static class AdminApi
{
    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/").RequireAuthorization(Auth.Policies.Administer);
        admin.MapPost("/tokens", CreateToken);
        admin.MapGet("/tokens", ListTokens);
        admin.MapDelete("/tokens/{id}", RevokeToken);
        admin.MapPut("/lots/{lot}", ChangeLot);
        admin.MapGet("/audit/admin", AdminAudit);
        admin.MapGet("/models", ListModelSets);
        admin.MapPost("/models", RegisterModelSet);
        admin.MapPost("/models/{version}/activate", ActivateModelSet);
        admin.MapGet("/models/{version}/gate", GetGate);
        admin.MapPost("/models/{version}/gate", EvaluateGate);
        admin.MapGet("/models/gate/overrides", GateOverrides);
        return admin;
    }

    /// <summary>A token with a role and an optional expiry ("30d", "12h", or an ISO 8601 time), audited as made by the calling admin.</summary>
    public static async Task<Ok<CreatedToken>> CreateToken(TokenRequest request, ClaimsPrincipal user, IParticleStore store)
    {
        var expires = Auth.AccessTokens.ParseExpiry(request.Expires, DateTimeOffset.UtcNow);
        var (token, stored) = await Auth.AccessTokens.CreateAsync(store, request.Role ?? "", request.Name ?? "", expires, Auth.AccessTokens.ActorOf(user));
        return TypedResults.Ok(new CreatedToken(token, stored.TokenId, stored.Name, stored.Role, stored.CreatedUtc, stored.ExpiresUtc));
    }

    /// <summary>Every token with when it was made, expires, was last used (to the minute) and was revoked; never a hash.</summary>
    public static async Task<Ok<IReadOnlyList<AccessToken>>> ListTokens(IParticleStore store) => TypedResults.Ok(await store.ListTokensAsync());

    /// <summary>
    /// Revokes a token, audited. Every gateway refuses it within <see cref="Auth.TokenLookup.Remembered"/>. Revoking a
    /// revoked token again answers the first revocation.
    /// </summary>
    public static async Task<Results<Ok<AccessToken>, NotFound<ApiError>>> RevokeToken(string id, ClaimsPrincipal user, IParticleStore store) =>
        await store.RevokeTokenAsync(id, Auth.AccessTokens.ActorOf(user), DateTimeOffset.UtcNow) is { } revoked
            ? TypedResults.Ok(revoked)
            : TypedResults.NotFound(new ApiError($"no token has the id '{id}' (GET /tokens lists them)"));

    /// <summary>
    /// An admin changes a lot's container volume or product (what runs may only set once), with a reason; the change
    /// and who made it (token id and name) go to the admin audit trail.
    /// </summary>
    public static async Task<Ok<LotChange>> ChangeLot(string lot, LotChangeRequest request, ClaimsPrincipal user, IParticleStore store)
    {
        if (!Domain.Identifiers.IsValid(lot)) throw new ArgumentException($"lot id '{lot}' is not valid: {Domain.Identifiers.Rule}");
        if (request.ContainerVolumeMl is null && string.IsNullOrWhiteSpace(request.Product))
            throw new ArgumentException("give containerVolumeMl, product or both (and a reason)");
        if (new LotDescriptor(request.ContainerVolumeMl, request.Product).Problem() is { } problem) throw new ArgumentException($"lot {lot}: {problem}");
        if (request.Product is { Length: > 200 }) throw new ArgumentException("the product is longer than 200 characters");
        string reason = request.Reason?.Trim() ?? "";
        if (reason.Length is 0 or > 1000) throw new ArgumentException("a change of a lot needs a reason of 1-1000 characters; it is audited");
        var changed = await store.ChangeLotAsync(new LotRecord(lot, request.ContainerVolumeMl, request.Product), Auth.AccessTokens.ActorOf(user), reason, DateTimeOffset.UtcNow);
        return TypedResults.Ok(new LotChange(changed, await store.AdminAuditAsync(lot)));
    }

    /// <summary>The admin audit trail (tokens made and revoked, lots changed), oldest first; ?subject= a token or lot id narrows it.</summary>
    public static async Task<Ok<IReadOnlyList<AdminAuditEntry>>> AdminAudit(string? subject, IParticleStore store) =>
        TypedResults.Ok(await store.AdminAuditAsync(string.IsNullOrWhiteSpace(subject) ? null : subject));

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
        // The gate's audit names the admin by token name and id ("site admin (token 0123456789ab)").
        var set = await registry.ActivateOverridingGate(version, Auth.AccessTokens.ActorOf(user).ToString(), request.Reason);
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
