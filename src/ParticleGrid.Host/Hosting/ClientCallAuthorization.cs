using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using ParticleGrid.Abstractions;
using ParticleGrid.Grains.Runs;
using ParticleGrid.Host.Auth;
using ParticleGrid.Storage;

namespace ParticleGrid.Host.Hosting;

/// <summary>
/// Every grain call that arrives from an Orleans client (ingest --cluster, particlegrid-ingest, anything else that
/// reaches a gateway port) must carry a token (<see cref="SiteCredentials.TokenKey"/> in the request context) whose role
/// may make that call: the same tokens and roles as HTTP (<see cref="ClientCallRoles"/>). Calls between grains, and
/// calls made inside a silo's own process (its HTTP handlers, which check the bearer token first; its start-up), pass.
/// </summary>
/// <remarks>
/// Whether a call is a client's is read from the message's sender, and the connection stands behind that sender: a client
/// connection may send only as a client (<see cref="GatewaySenderCheck"/> hangs up on one that names a grain or a silo's
/// "hosted-" client), and only silos reach the silo port (mutual TLS with silo certificates, <see cref="ParticleGridSilo"/>).
/// So a client id that is not a silo's hosted one means the call came in on a client connection. The token is only the
/// credential; nothing the caller puts in the request context or its messages can make a call count as a silo's.
/// </remarks>
internal sealed class ClientCallAuthorization(TokenLookup tokens, RunOptions runs, ILogger<ClientCallAuthorization> logger) : IIncomingGrainCallFilter
{
    /// <summary>The in-process client of a silo (Orleans' HostedClient: "hosted-" and the silo's address).</summary>
    private const string HostedClientPrefix = "hosted-";

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        // Orleans' system targets are not grains: a client asks them for the cluster's manifest before it can call
        // anything, with no token yet to give. What reaches them is bounded by TLS and the network policy.
        if (context.SourceId is { } source && source.IsClient() && !source.Key.ToString().StartsWith(HostedClientPrefix, StringComparison.Ordinal)
            && !context.TargetId.IsSystemTarget())
        {
            string call = $"{context.InterfaceName}.{context.MethodName}";
            var allowed = ClientCallRoles.For(context.InterfaceMethod.DeclaringType, context.MethodName);
            if (RequestContext.Get(SiteCredentials.TokenKey) is not string token || token.Length == 0)
            {
                logger.LogWarning("Refused {Call} from Orleans client {Client}: no token", call, source);
                throw new UnauthorizedAccessException($"{call}: an Orleans client must present a token (PARTICLEGRID_TOKEN; particlegrid token create --role instrument)");
            }
            // The same lookup as HTTP's: an expired or revoked token is refused here too, within its few seconds of memory.
            TokenCheck check;
            try
            {
                check = await tokens.CheckAsync(token, CancellationToken.None);
            }
            catch (Exception e) when (StoreOutages.IsOutage(e))
            {
                // The store that holds the tokens is down or full (a PostgreSQL outage outlives the lookup's memory of the
                // token): "not now", as the run grain answers a batch it cannot record, so ingest --cluster waits through the
                // outage. The store's own exception would not reach the client at all: Orleans has no codec for it.
                logger.LogWarning("Could not check the token of {Call} from Orleans client {Client}: {Why}", call, source, StoreOutages.Describe(e));
                throw new RunPausedException($"{call}: {TokenLookup.CannotCheckNow(e)}", (int)runs.RetryAfter.TotalMilliseconds);
            }
            if (check.Token is not { } found)
            {
                logger.LogWarning("Refused {Call} from Orleans client {Client}: {Refusal}", call, source, check.Refusal);
                throw new UnauthorizedAccessException($"{call}: {check.Refusal}");
            }
            if (!allowed.Contains(found.Role))
            {
                logger.LogWarning("Refused {Call} from Orleans client {Client}: token {Token} has role {Role}", call, source, found.TokenId, found.Role);
                throw new UnauthorizedAccessException($"{call}: the token's role ({found.Role}) may not do this (it needs {string.Join(" or ", allowed)})");
            }
        }
        await context.Invoke();
    }
}

/// <summary>
/// Which token roles may make each grain call from an Orleans client: what the HTTP endpoint that does the same work
/// requires (Auth.Policies). Anything not listed needs admin, so a new grain method is closed until it is listed here.
/// </summary>
public static class ClientCallRoles
{
    private static readonly string[] Ingest = [Roles.Instrument, Roles.Admin], Read = [Roles.Qa, Roles.Admin], Administer = [Roles.Admin];

    private static readonly Dictionary<(Type, string), string[]> Calls = new()
    {
        // POST /runs, /runs/{run}/batches, /unrecorded, /rejections, /complete: the ingest policy.
        [(typeof(IInstrumentRunGrain), nameof(IInstrumentRunGrain.Start))] = Ingest,
        [(typeof(IInstrumentRunGrain), nameof(IInstrumentRunGrain.SubmitBatch))] = Ingest,
        [(typeof(IInstrumentRunGrain), nameof(IInstrumentRunGrain.Unrecorded))] = Ingest,
        [(typeof(IInstrumentRunGrain), nameof(IInstrumentRunGrain.ReportRejections))] = Ingest,
        [(typeof(IInstrumentRunGrain), nameof(IInstrumentRunGrain.Complete))] = Ingest,
        // POST /runs/{run}/retry-failed (ingest --retry-failed): the ingest policy too, so ingest --cluster can repair a run it sends.
        [(typeof(IInstrumentRunGrain), nameof(IInstrumentRunGrain.RetryInfrastructureFailures))] = Ingest,
        // A run's lot is described when the run starts (POST /runs with containerVolumeMl).
        [(typeof(ILotGrain), nameof(ILotGrain.Describe))] = Ingest,
        // GET /runs/{run}, GET /lots/{lot}, GET /workers: the read policy.
        [(typeof(IInstrumentRunGrain), nameof(IInstrumentRunGrain.GetStatus))] = Read,
        [(typeof(ILotGrain), nameof(ILotGrain.GetProfile))] = Read,
        [(typeof(IEnsembleWorkerGrain), nameof(IEnsembleWorkerGrain.GetInfo))] = Read,
        // The model registry (/models...) and the rest of the workers' methods: admin, the default.
    };

    public static IReadOnlyList<string> For(Type? grainInterface, string method) =>
        grainInterface is not null && Calls.TryGetValue((grainInterface, method), out var roles) ? roles : Administer;
}
