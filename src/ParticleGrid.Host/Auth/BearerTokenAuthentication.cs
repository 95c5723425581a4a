using System.Collections.Concurrent;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ParticleGrid.Storage;

namespace ParticleGrid.Host.Auth;

/// <summary>
/// "Authorization: Bearer pgt_..." on every request: the token's hash is looked up in the store (and remembered for
/// half a minute). No header: 401; an unknown token: 401; a known token without the endpoint's role: 403.
/// </summary>
public sealed class BearerTokenHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    TokenLookup tokens) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header)) return AuthenticateResult.NoResult();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return AuthenticateResult.Fail("use 'Authorization: Bearer <token>'");
        if (await tokens.FindAsync(header["Bearer ".Length..].Trim(), Context.RequestAborted) is not { } token)
            return AuthenticateResult.Fail("the token is not valid");
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, token.Name), new Claim(ClaimTypes.Role, token.Role), new Claim("token_id", token.TokenId)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await Response.WriteAsJsonAsync(new { error = "a bearer token is required: 'Authorization: Bearer <token>' (particlegrid token create --role qa)" });
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await Response.WriteAsJsonAsync(new { error = $"the token's role ({Context.User.FindFirstValue(ClaimTypes.Role)}) may not do this" });
    }
}

/// <summary>
/// Finds a token's stored record by its hash, remembering answers for half a minute. One per host (a singleton):
/// hosts in one process (tests, the benchmark) have their own stores and must not share what they remember.
/// </summary>
public sealed class TokenLookup(IParticleStore store)
{
    private readonly ConcurrentDictionary<string, (AccessToken? Token, DateTime Until)> _recent = new();

    public async Task<AccessToken?> FindAsync(string token, CancellationToken cancellation)
    {
        string hash = AccessTokens.Sha256(token);
        if (!_recent.TryGetValue(hash, out var known) || known.Until < DateTime.UtcNow)
        {
            known = (await store.FindTokenAsync(hash, cancellation), DateTime.UtcNow.AddSeconds(30));
            _recent[hash] = known;
        }
        return known.Token;
    }
}

/// <summary>Wiring: the scheme, a policy per kind of work, and "authenticated" as the default for every endpoint.</summary>
public static class AccessControl
{
    public static IServiceCollection AddParticleGridAccessControl(this IServiceCollection services)
    {
        services.AddSingleton<TokenLookup>();
        services.AddAuthentication(BearerTokenHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(Policies.Read, p => p.RequireRole(Roles.Qa, Roles.Admin))
            .AddPolicy(Policies.Review, p => p.RequireRole(Roles.Qa, Roles.Admin))
            .AddPolicy(Policies.Ingest, p => p.RequireRole(Roles.Instrument, Roles.Admin))
            .AddPolicy(Policies.Administer, p => p.RequireRole(Roles.Admin));
        services.AddHostedService<FirstAdminToken>();
        return services;
    }
}

/// <summary>
/// On the first start of a site (no token at all), makes an admin token and writes it to a file only this user can
/// read (<see cref="Hosting.ParticleGridOptions.FirstAdminTokenPath"/>, mode 0600); the console says where it is, not
/// what it is, since the console of a container is its log, which others read and keep.
/// </summary>
internal sealed class FirstAdminToken(IParticleStore store, Hosting.ParticleGridOptions options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.IsGateway || !options.CreateFirstAdminToken) return;
        string path = Path.GetFullPath(options.FirstAdminTokenPath);
        string token = AccessTokens.New();
        // The file first, then the token in the store: a token the store keeps but nobody can read would lock the site out.
        try
        {
            WriteOwnerOnly(path, token);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"cannot write the first admin token to {path} ({e.Message}): set ParticleGrid:FirstAdminTokenFile " +
                                                "(PARTICLEGRID__FIRSTADMINTOKENFILE) to a writable path on a volume only this site's operators can read", e);
        }
        AccessToken? saved = null;
        try
        {
            saved = await store.SaveTokenAsync(AccessTokens.Sha256(token), "first admin", Roles.Admin, DateTimeOffset.UtcNow, onlyIfNoTokens: true, cancellationToken);
        }
        finally
        {
            if (saved is null) File.Delete(path);   // the site had tokens already (or the store failed): this one was never valid
        }
        if (saved is null) return;
        Console.WriteLine($"ParticleGrid admin token written to {path} (readable by this user only; read it, keep it safe, " +
                          "then delete the file; make other tokens with 'particlegrid token create')");
    }

    /// <summary>Creates <paramref name="path"/> with mode 0600 from the start (never readable by others, even for a moment).</summary>
    private static void WriteOwnerOnly(string path, string token)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var create = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new StreamWriter(path, System.Text.Encoding.ASCII, create)) file.WriteLine(token);
        // An existing file keeps its mode on Create: set it again.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
