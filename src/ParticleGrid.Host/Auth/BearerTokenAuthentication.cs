using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ParticleGrid.Storage;

namespace ParticleGrid.Host.Auth;

/// <summary>
/// "Authorization: Bearer pgt_..." on every request: the token's hash is looked up in the store (and remembered for a
/// few seconds, see <see cref="TokenLookup"/>). No header: 401; an unknown, expired or revoked token: 401 with the
/// reason; a known token without the endpoint's role: 403. A client (remote address) whose tokens failed
/// <see cref="FailedAttempts.Allowed"/> times within a minute gets 429 with Retry-After, whatever token it sends, until
/// the minute is over: guessing tokens is slowed to a few a minute, and a gateway under such a flood does not ask
/// the store about each guess. When the store that holds the tokens cannot be used (PostgreSQL down, a token not
/// remembered), the request is answered 503 with Retry-After and one line, as an Orleans client's call is
/// (<see cref="Hosting.ClientCallAuthorization"/>): the caller did nothing wrong and should send it again.
/// </summary>
public sealed class BearerTokenHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    TokenLookup tokens, FailedAttempts failures, Grains.Runs.RunOptions runs) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    // What HandleAuthenticateAsync found, for the challenge that answers the request.
    private TimeSpan? _throttledFor;
    private string? _refusal;
    private string? _storeOutage;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header)) return AuthenticateResult.NoResult();
        var client = Context.Connection.RemoteIpAddress ?? IPAddress.None;
        if (failures.RetryAfter(client) is { } wait)
        {
            _throttledFor = wait;
            return AuthenticateResult.Fail("too many failed attempts");
        }
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            failures.Count(client);
            _refusal = "use 'Authorization: Bearer <token>'";
            return AuthenticateResult.Fail(_refusal);
        }
        TokenCheck check;
        try
        {
            check = await tokens.CheckAsync(header["Bearer ".Length..].Trim(), Context.RequestAborted);
        }
        catch (Exception e) when (StoreOutages.IsOutage(e))
        {
            // Not the client's failure, so not counted against its address. The driver's message goes to the log only:
            // this caller is not identified yet, and it can name the database's host and user. One line, no stack: an
            // outage logs this for every request that comes meanwhile (ClientCallAuthorization logs the same way).
            Logger.LogWarning("Could not check a bearer token: the token store cannot be used: {Why}", StoreOutages.Describe(e));
            _storeOutage = TokenLookup.CannotCheckNow(e);
            return AuthenticateResult.Fail("the token store cannot be used now");
        }
        if (check.Token is not { } token)
        {
            failures.Count(client);
            _refusal = check.Refusal;
            return AuthenticateResult.Fail(_refusal!);
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, token.Name), new Claim(ClaimTypes.Role, token.Role), new Claim(AccessTokens.TokenIdClaim, token.TokenId)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (_storeOutage is { } refusal)
        {
            int seconds = Math.Max(1, (int)Math.Ceiling(runs.RetryAfter.TotalSeconds));
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Response.WriteAsJsonAsync(new { error = $"{refusal} in {seconds} s" });
            return;
        }
        if (_throttledFor is { } wait)
        {
            int seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Response.WriteAsJsonAsync(new { error = $"too many requests with a token that is not valid came from this address; try again in {seconds} s" });
            return;
        }
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await Response.WriteAsJsonAsync(new { error = _refusal ?? "a bearer token is required: 'Authorization: Bearer <token>' (particlegrid token create --role qa)" });
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await Response.WriteAsJsonAsync(new { error = $"the token's role ({Context.User.FindFirstValue(ClaimTypes.Role)}) may not do this" });
    }
}

/// <summary>A token checked: the stored token when it may be used, else why not.</summary>
public readonly record struct TokenCheck(AccessToken? Token, string? Refusal);

/// <summary>
/// Finds a token's stored record by its hash. One per host (a singleton): hosts in one process (tests, the benchmark)
/// have their own stores and must not share what they remember.
/// </summary>
/// <remarks>
/// What it remembers is bounded (<see cref="MaxRemembered"/> tokens) and short-lived (<see cref="Remembered"/>): a
/// token revoked on any gateway, or in the store by <c>particlegrid token revoke</c>, is refused by every gateway
/// within that time. An unknown token is never remembered, so a token made a moment after a miss works at once (and
/// random guesses cannot fill the cache). Expiry is checked on every request against the remembered record. A use is
/// written to the store at most once a minute per token (<see cref="SqlParticleStore.LastUseResolution"/>), not per request.
/// </remarks>
public sealed class TokenLookup(IParticleStore store, ILogger<TokenLookup> logger) : IDisposable
{
    /// <summary>How long a token found in the store is trusted without asking again: the most a revocation waits.</summary>
    public static readonly TimeSpan Remembered = TimeSpan.FromSeconds(4);

    public const int MaxRemembered = 10_000;

    /// <summary>
    /// What a caller whose token could not be checked is told, over HTTP and Orleans alike: the cause only (the caller is
    /// not identified yet, and a driver's message can name the database's host and user), and that nothing was done.
    /// </summary>
    public static string CannotCheckNow(Exception storeOutage) =>
        $"the site cannot check the token now: the token store cannot be used: {StoreOutages.Cause(storeOutage)}; nothing was done; send it again";

    private readonly MemoryCache _tokens = new(new MemoryCacheOptions { SizeLimit = MaxRemembered });
    private readonly MemoryCache _usesNoted = new(new MemoryCacheOptions { SizeLimit = MaxRemembered });

    public async Task<TokenCheck> CheckAsync(string token, CancellationToken cancellation)
    {
        string hash = AccessTokens.Sha256(token);
        if (!_tokens.TryGetValue(hash, out AccessToken? known) || known is null)
        {
            known = await store.FindTokenAsync(hash, cancellation);
            if (known is null) return new TokenCheck(null, "the token is not valid");
            _tokens.Set(hash, known, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = Remembered });
        }
        var now = DateTimeOffset.UtcNow;
        if (known.RefusalAt(now) is { } refusal) return new TokenCheck(null, refusal);
        await NoteUseAsync(known.TokenId, now, cancellation);
        return new TokenCheck(known, null);
    }

    /// <summary>Writes the token's last use unless this gateway wrote it within the minute (the store skips it too when another gateway did).</summary>
    private async Task NoteUseAsync(string tokenId, DateTimeOffset now, CancellationToken cancellation)
    {
        if (_usesNoted.TryGetValue(tokenId, out _)) return;
        _usesNoted.Set(tokenId, true, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = SqlParticleStore.LastUseResolution });
        try
        {
            await store.TouchTokenAsync(tokenId, now, cancellation);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The last use is for people reading the token list; a store that cannot write it must not refuse the request.
            logger.LogWarning(e, "Could not note the use of token {TokenId}", tokenId);
        }
    }

    public void Dispose()
    {
        _tokens.Dispose();
        _usesNoted.Dispose();
    }
}

/// <summary>
/// Failed token checks per client address, in one-minute windows (System.Threading.RateLimiting's fixed window; a
/// partition idle for a while is dropped, so the addresses it keeps are bounded by the traffic of the last minute).
/// </summary>
/// <remarks>
/// Behind a proxy every client has the proxy's address: then one guessing client slows everyone behind it, which is
/// the safe side (the proxy's own limits should stop it first).
/// </remarks>
public sealed class FailedAttempts : IDisposable
{
    /// <summary>Failures a client may have in a window before each of its requests is answered 429.</summary>
    public const int Allowed = 10;

    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly PartitionedRateLimiter<IPAddress> _limiter = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address =>
        RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions { PermitLimit = Allowed, Window = Window, QueueLimit = 0 }));

    /// <summary>How long the client must wait when it has used up its failures; null when it may try.</summary>
    public TimeSpan? RetryAfter(IPAddress client)
    {
        using var lease = _limiter.AttemptAcquire(client, 0);
        if (lease.IsAcquired) return null;
        return lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : Window;
    }

    /// <summary>Counts a failed check of the client.</summary>
    public void Count(IPAddress client)
    {
        using var lease = _limiter.AttemptAcquire(client, 1);
    }

    public void Dispose() => _limiter.Dispose();
}

/// <summary>Wiring: the scheme, a policy per kind of work, and "authenticated" as the default for every endpoint.</summary>
public static class AccessControl
{
    public static IServiceCollection AddParticleGridAccessControl(this IServiceCollection services)
    {
        services.TryAddSingleton<TokenLookup>();
        services.AddSingleton<FailedAttempts>();
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
